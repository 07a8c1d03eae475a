"""`animesion-train evaluate` of a multimodal (ViLT) pack: top-1 with and without the tags
given, and tag generation at the pack's threshold and as mAP."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from models.architectures.vilt import ViLT
from models.pack import ModelPack
from models.registry import build_model
from models.tag_tokenizer import TagTokenizer
from models.weights import load_state_dict_file
from training.data.samples import Sample
from training.data.transforms import Normalizer, TransformOptions, eval_transform
from training.errors import TrainingError
from training.multimodal_metrics import evaluate_multimodal
from training.multimodal_train import TaggedImages, eval_batches
from training.rundata import RunData


def load_vilt_pack(pack: ModelPack) -> tuple[ViLT, TagTokenizer]:
    if pack.architecture is None or pack.multimodal is None:
        raise TrainingError(f"{pack.path}: not a multimodal pack")
    model = build_model(pack.architecture)
    assert isinstance(model, ViLT)  # check_multimodal: a vilt_* architecture
    model.load_state_dict(load_state_dict_file(pack.file("weights.safetensors")), strict=True)
    return model.eval(), TagTokenizer.read_csv(pack.file(pack.multimodal.vocabulary))


def evaluate_multimodal_pack(
    pack: ModelPack,
    run: RunData,
    split: str,
    samples: Sequence[Sample],
    out: Path,
    *,
    device: str | None = None,
    batch_size: int | None = None,
) -> dict[str, Any]:
    assert pack.multimodal is not None
    start = time.perf_counter()
    model, tokenizer = load_vilt_pack(pack)
    dev = torch.device(device or "cpu")
    model.to(dev)
    characters = [lab.name for lab in pack.heads[0].labels]
    opts = TransformOptions(image_size=pack.input.size, mean=pack.input.mean, std=pack.input.std)
    index = {c: i for i, c in enumerate(characters)}
    dataset = TaggedImages(samples, index, eval_transform(opts), opts.decode_size(False))
    if not len(dataset):
        raise TrainingError(f"none of the {split} images is of a character the pack knows")
    normalizer = Normalizer(opts.mean, opts.std).to(dev)
    metrics = evaluate_multimodal(
        model,
        tokenizer,
        eval_batches(dataset, batch_size or 64, normalizer, dev),
        threshold=pack.multimodal.tag_threshold,
    )
    results: dict[str, Any] = {
        "source": {"kind": "pack", "path": str(pack.path)},
        "data": {**run.describe(), "split": split, "evaluated_images": len(dataset)},
        "heads": {},
        "multimodal": metrics,
        "seconds": round(time.perf_counter() - start, 2),
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results
