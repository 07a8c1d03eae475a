"""The PySide6 desktop app. Composes widgets and controllers; runs core work on threads."""
