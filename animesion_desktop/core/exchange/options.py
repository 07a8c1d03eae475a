"""The options of an export and of an import: plain dataclasses a CLI or a dialog fills in."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

EXPORT_FORMATS = ("ours", "dafre", "kohya", "xmp", "csv", "json")
IMPORT_FORMATS = ("folders", "captions", "booru-json", "xmp", "csv", "dafre")
LINK_MODES = ("hardlink", "symlink", "copy")
LABEL_MODES = ("effective", "accepted")


@dataclass
class ExportOptions:
    format: str
    dest: Path
    query: str = ""  # a search; empty: every image
    # "effective" (what search shows) or "accepted" (your decisions only); default: accepted for
    # the training sets (ours, dafre), effective for the rest.
    labels: str = ""
    link: str = "hardlink"  # how images reach an ours/dafre/kohya export
    min_per_class: int = 3  # ours/dafre: characters with fewer images go to the report
    seed: int = 0
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    overwrite: bool = False
    dry_run: bool = False
    beside: bool = False  # xmp/kohya: write sidecars beside the images (outside DEST, asked for)
    # kohya captions
    spaces: bool = False  # blue_hair -> blue hair
    character_first: bool = True
    threshold: float | None = None  # also caption predictions scoring at least this
    exclude: tuple[str, ...] = ()
    keep_tokens: int = 0  # kohya's keep_tokens: the first N tokens are character/copyright

    def __post_init__(self) -> None:
        if not self.labels:
            self.labels = "accepted" if self.format in ("ours", "dafre") else "effective"

    def check(self) -> None:
        if self.format not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {self.format!r} (choose from {', '.join(EXPORT_FORMATS)})")
        if self.labels not in LABEL_MODES:
            raise ValueError(f"--labels: choose from {', '.join(LABEL_MODES)}")
        if self.link not in LINK_MODES:
            raise ValueError(f"--link: choose from {', '.join(LINK_MODES)}")
        if self.min_per_class < 1:
            raise ValueError("--min-per-class must be at least 1")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise ValueError("--threshold must be between 0 and 1")
        if len(self.split_fractions) != 3 or any(f < 0 for f in self.split_fractions) or not sum(
            self.split_fractions
        ):
            raise ValueError("split fractions must be three non-negative numbers")


@dataclass
class ImportOptions:
    format: str
    src: Path
    dry_run: bool = False
    scan: bool = False  # scan the source folder first, so images not yet in the library match
    strip_number: bool = True  # folders: "000_hatsune_miku" is hatsune_miku (moeImouto)
    extra: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        if self.format not in IMPORT_FORMATS:
            raise ValueError(f"unknown import format {self.format!r} (choose from {', '.join(IMPORT_FORMATS)})")
