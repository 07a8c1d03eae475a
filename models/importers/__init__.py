"""Importers that turn outside models into packs, and ``import_any`` that picks one."""

from __future__ import annotations

from pathlib import Path

from models.errors import PackError
from models.importers.animesion import import_animesion_checkpoint
from models.importers.hf import import_hf_classifier
from models.importers.wd_tagger import import_wd_tagger
from models.pack import ModelPack

__all__ = [
    "import_animesion_checkpoint",
    "import_hf_classifier",
    "import_wd_tagger",
    "import_any",
    "detect_kind",
]

CHECKPOINT_SUFFIXES = (".ckpt", ".pth", ".pt", ".safetensors")


def detect_kind(path: str | Path) -> tuple[str, Path]:
    """("animesion" | "wd" | "hf", the file or folder to import) or PackError."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in CHECKPOINT_SUFFIXES:
        return "animesion", path
    if path.is_dir():
        if (path / "model.onnx").is_file() and (path / "selected_tags.csv").is_file():
            return "wd", path
        if (path / "config.json").is_file():
            return "hf", path
        checkpoints = [
            p
            for p in path.iterdir()
            if p.is_file() and p.suffix.lower() in (".ckpt", ".pth", ".pt")
        ]
        if len(checkpoints) == 1:
            return "animesion", checkpoints[0]
    raise PackError(
        f"{path}: not a model this app can import: expected a WD tagger folder (model.onnx + "
        "selected_tags.csv), a Hugging Face image-classification folder (config.json + "
        "model.safetensors) or an Animesion checkpoint (.ckpt/.pth with classid_classname.csv)"
    )


def import_any(path: str | Path, out_dir: str | Path, *, name: str | None = None) -> ModelPack:
    """Detect what ``path`` is and convert it into a pack folder at ``out_dir``."""
    kind, target = detect_kind(path)
    if kind == "wd":
        return import_wd_tagger(target, out_dir, name=name)
    if kind == "hf":
        return import_hf_classifier(target, out_dir, name=name)
    return import_animesion_checkpoint(target, out_dir, name=name)
