"""An export is planned first (every file it would write, and what it leaves out), then written.

Planning never touches the disk outside reading the library, so ``--dry-run`` is the plan
printed, and the checks (nothing outside DEST, nothing overwritten) run before the first write.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Output:
    target: Path
    text: str | None = None  # the file's contents, or
    source: Path | None = None  # an image to link or copy there
    beside: bool = False  # a sidecar beside the user's image: allowed outside DEST when asked


@dataclass(frozen=True)
class LeftOut:
    what: str  # a path, or the image hash when it has no file
    reason: str


@dataclass
class ExportSummary:
    format: str
    dest: Path
    images: int = 0  # images exported
    files: int = 0  # files written (or, dry run, that would be)
    splits: Counter[str] = field(default_factory=Counter)
    classes: int = 0
    left_out: list[LeftOut] = field(default_factory=list)
    copied_instead_of_linked: int = 0
    dry_run: bool = False
    planned: list[Path] = field(default_factory=list)  # dry run: what would be written
    cancelled: bool = False
    split_of: dict[int, str] = field(default_factory=dict)  # ours/dafre: image id -> split

    def reasons(self) -> Counter[str]:
        """Left-out counts by reason, with the per-image detail (a character's name) dropped."""
        return Counter(lo.reason.split(":", 1)[0] for lo in self.left_out)

    def lines(self) -> list[str]:
        verb = "would write" if self.dry_run else "wrote"
        out = [f"{self.format}: {verb} {self.files} files for {self.images} images to {self.dest}"
               + (" (cancelled)" if self.cancelled else "")]
        if self.splits:
            out.append("  splits: " + ", ".join(f"{k} {self.splits[k]}" for k in ("train", "val", "test")
                                                 if k in self.splits)
                       + (f"; {self.classes} characters" if self.classes else ""))
        if self.copied_instead_of_linked:
            out.append(f"  {self.copied_instead_of_linked} images copied (could not be linked)")
        if self.left_out:
            out.append(f"  left out {len(self.left_out)} images: "
                       + ", ".join(f"{n} {r}" for r, n in self.reasons().most_common()))
        return out


@dataclass
class Plan:
    outputs: list[Output] = field(default_factory=list)
    summary: ExportSummary | None = None

    def add_text(self, target: Path, text: str, *, beside: bool = False) -> None:
        self.outputs.append(Output(target, text=text, beside=beside))

    def add_image(self, target: Path, source: Path) -> None:
        self.outputs.append(Output(target, source=source))
