"""Where a library and its companions (packs, thumbnails, settings) live.

One rule for every command and the app: ``--library PATH`` wins, then ``ANIMESION_LIBRARY``, then
the user data directory. An explicitly named library keeps its packs and thumbnails beside it, so
a test or a second collection never touches the user's real directories.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "animesion-desktop"
ENV_LIBRARY = "ANIMESION_LIBRARY"
DB_FILENAME = "library.sqlite"


@dataclass(frozen=True)
class LibraryLocation:
    db_path: Path
    packs_dir: Path
    thumbs_dir: Path
    config_dir: Path

    def ensure(self) -> LibraryLocation:
        for d in (self.db_path.parent, self.packs_dir, self.thumbs_dir, self.config_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self


def resolve_location(explicit: str | os.PathLike[str] | None = None) -> LibraryLocation:
    chosen = explicit if explicit is not None else os.environ.get(ENV_LIBRARY) or None
    if chosen is not None:
        db = Path(chosen).expanduser().resolve()
        if db.is_dir() or db.suffix == "":
            db = db / DB_FILENAME
        side = db.parent / f"{db.stem}.d"
        return LibraryLocation(db, side / "packs", side / "thumbnails", side / "config")
    data = Path(platformdirs.user_data_dir(APP_NAME))
    return LibraryLocation(
        data / DB_FILENAME,
        data / "packs",
        Path(platformdirs.user_cache_dir(APP_NAME)) / "thumbnails",
        Path(platformdirs.user_config_dir(APP_NAME)),
    )
