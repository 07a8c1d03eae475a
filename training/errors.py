"""The one exception type the command line turns into a clear message instead of a traceback."""

from __future__ import annotations

from pathlib import Path


class TrainingError(Exception):
    """A problem the user can fix (bad path, malformed file, wrong option)."""


class DataError(TrainingError):
    """A data set problem; the message names the file and, when known, the line."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = Path(path) if path is not None else None
        self.line = line
