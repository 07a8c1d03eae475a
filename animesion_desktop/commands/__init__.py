"""Sub-commands of the ``animesion`` command, one module each (add_parser + run)."""
