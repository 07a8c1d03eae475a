"""Importing Hugging Face image-classification folders (config.json with id2label +
model.safetensors) as hf packs. Pickled ``pytorch_model.bin`` weights are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.errors import PackError
from models.labels import CATEGORIES, Label
from models.pack import ModelPack, safe_pack_name, write_pack
from models.pack_checks import HF_WEIGHTS, hf_labels, read_hf_config
from models.spec import HeadSpec, InputSpec

PREPROCESSOR = "preprocessor_config.json"


def _input_spec(folder: Path, config: dict[str, Any]) -> InputSpec:
    """From preprocessor_config.json when present, else ViT defaults at config image_size."""
    image_size = config.get("image_size")
    size = image_size if isinstance(image_size, int) else 224
    mean: Any = (0.5, 0.5, 0.5)
    std: Any = (0.5, 0.5, 0.5)
    scale = 1.0 / 255.0
    resize = "stretch"
    path = folder / PREPROCESSOR
    if path.is_file():
        try:
            proc = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PackError(f"{PREPROCESSOR}: not valid JSON ({exc})") from None
        mean = proc.get("image_mean", mean)
        std = proc.get("image_std", std)
        if proc.get("do_rescale", True):
            scale = float(proc.get("rescale_factor", scale))
        else:
            scale = 1.0
        if not proc.get("do_normalize", True):
            mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
        declared = proc.get("size")
        if isinstance(declared, int):
            size = declared
        elif isinstance(declared, dict):
            if "height" in declared and declared.get("height") == declared.get("width"):
                size = int(declared["height"])
            elif "shortest_edge" in declared:
                size = int(declared["shortest_edge"])
                resize = "crop"
    if len(mean) != 3 or len(std) != 3:
        raise PackError(f"{PREPROCESSOR}: image_mean/image_std must have three values")
    return InputSpec(
        size=size,
        resize=resize,
        mean=(float(mean[0]), float(mean[1]), float(mean[2])),
        std=(float(std[0]), float(std[1]), float(std[2])),
        scale=scale,
    )


def import_hf_classifier(
    folder: str | Path,
    out_dir: str | Path,
    *,
    name: str | None = None,
    category: str = "character",
) -> ModelPack:
    """Convert a transformers image classifier folder into an hf pack at ``out_dir``.

    Labels come from ``id2label`` with ``category`` (default character); the head is named
    after the category and uses sigmoid for multi-label models, softmax otherwise.
    """
    folder = Path(folder)
    if category not in CATEGORIES:
        raise PackError(f"category: expected one of {', '.join(CATEGORIES)}, got {category!r}")
    config = read_hf_config(folder)
    if not (folder / HF_WEIGHTS).is_file():
        if (folder / "pytorch_model.bin").is_file():
            raise PackError(
                f"{HF_WEIGHTS}: missing; pytorch_model.bin is a pickle and is not "
                "loaded, convert it to safetensors first"
            )
        raise PackError(f"{HF_WEIGHTS}: file is missing in {folder}")
    names = hf_labels(config)
    multi = config.get("problem_type") == "multi_label_classification"
    labels = tuple(Label(n, category, 0.35 if multi else 0.5) for n in names)
    return write_pack(
        out_dir,
        name=name or safe_pack_name(folder.name, "hf-classifier"),
        backend="hf",
        heads=[HeadSpec(category, "sigmoid" if multi else "softmax", labels)],
        input_spec=_input_spec(folder, config),
        hf_dir=folder,
        provenance={
            "importer": "hf",
            "source": folder.name,
            "model_type": config.get("model_type"),
        },
    )
