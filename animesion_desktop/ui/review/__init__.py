"""Review mode: one image large, its top-5 character guesses, a decision per key press."""
