"""What every reader returns: labelled image files, split files if the data set has them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".jfif", ".webp", ".bmp", ".gif"})
SPLITS = ("train", "val", "test")

# Head name -> activation; the order is the order heads appear in checkpoints and packs.
HEAD_KINDS: dict[str, str] = {
    "character": "softmax",
    "copyright": "softmax",
    "general": "sigmoid",
    "rating": "softmax",
}


@dataclass(frozen=True)
class Sample:
    """One labelled image. `None` means "not labelled", not "none of them"."""

    path: Path
    character: str | None = None
    tags: tuple[str, ...] | None = None
    copyright: str | None = None
    rating: str | None = None


@dataclass
class LabelledSet:
    """The samples of one data set and, when its files say so, the split of each sample."""

    kind: str
    root: Path
    samples: list[Sample]
    # Declared character order (e.g. classid_classname.csv); None: sorted names of the samples.
    classes: list[str] | None = None
    # Per-sample split name from the data set's own files; None when it has none.
    split_of: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    def heads_present(self) -> list[str]:
        """Heads for which at least one sample carries a label."""
        present = []
        for head in HEAD_KINDS:
            attr = "tags" if head == "general" else head
            if any(getattr(s, attr) for s in self.samples):
                present.append(head)
        return present

    def relpath(self, sample: Sample) -> str:
        try:
            return sample.path.relative_to(self.root).as_posix()
        except ValueError:
            return sample.path.as_posix()


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS
