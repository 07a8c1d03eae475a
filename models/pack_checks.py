"""Deep checks of a pack's model file against pack.json, one function per backend.

They build the model (torch, on the meta device: no memory, no weights read), read the
safetensors header, or open the ONNX graph, so that a pack that would fail at inference time
is refused at load/install time instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from models.config import ModelConfig
from models.errors import PackError
from models.multimodal_spec import MultimodalSpec
from models.safetensors_header import read_safetensors_shapes
from models.spec import HeadSpec, InputSpec

TORCH_WEIGHTS = "weights.safetensors"
ONNX_MODEL = "model.onnx"
HF_CONFIG = "config.json"
HF_WEIGHTS = "model.safetensors"


def _short(keys: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _check_label_count(head: HeadSpec, index: int, outputs: int, what: str) -> None:
    if len(head.labels) != outputs:
        raise PackError(
            f"{head.labels_file}: {len(head.labels)} labels, but {what} has {outputs} outputs "
            f"(pack.json: heads[{index}] {head.name!r})"
        )


def check_torch(folder: Path, config: ModelConfig, heads: Sequence[HeadSpec]) -> ModelConfig:
    """Check weights.safetensors and the heads against the architecture; returns the resolved
    config (with the registry defaults filled in)."""
    from models.registry import build_model

    try:
        with torch.device("meta"):  # shapes only: no allocation, no initialisation cost
            model = build_model(config)
    except ValueError as exc:
        raise PackError(f"pack.json: architecture.{exc}") from None
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = read_safetensors_shapes(folder / TORCH_WEIGHTS)
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing:
        raise PackError(f"{TORCH_WEIGHTS}: missing tensors for the architecture: {_short(missing)}")
    if unexpected:
        raise PackError(
            f"{TORCH_WEIGHTS}: tensors the architecture does not have: {_short(unexpected)}"
        )
    for key, shape in expected.items():
        if found[key] != shape:
            raise PackError(
                f"{TORCH_WEIGHTS}: {key} has shape {list(found[key])}, the architecture "
                f"expects {list(shape)}"
            )
    model_heads = model.config.heads
    names = [h.name for h in heads]
    if sorted(names) != sorted(model_heads):
        raise PackError(
            f"pack.json: heads: names {names} do not match the architecture's heads "
            f"{list(model_heads)}"
        )
    for i, head in enumerate(heads):
        _check_label_count(head, i, model_heads[head.name], f"the model's head {head.name!r}")
    return model.config


def _static(dim: Any) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def check_onnx(folder: Path, spec: InputSpec, heads: Sequence[HeadSpec]) -> None:
    import onnxruntime as ort

    path = folder / ONNX_MODEL
    if not path.is_file():
        raise PackError(f"{ONNX_MODEL}: file is missing")
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several private exception types
        raise PackError(f"{ONNX_MODEL}: onnxruntime cannot load it: {exc}") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise PackError(f"{ONNX_MODEL}: expected one image input, found {len(inputs)}")
    shape = list(inputs[0].shape)
    if len(shape) != 4:
        raise PackError(f"{ONNX_MODEL}: input {inputs[0].name!r} has rank {len(shape)}, expected 4")
    if inputs[0].type not in ("tensor(float)", "tensor(float16)"):
        raise PackError(f"{ONNX_MODEL}: input type {inputs[0].type} is not float")
    h, w, c = (
        (shape[1], shape[2], shape[3]) if spec.layout == "NHWC" else (shape[2], shape[3], shape[1])
    )
    if _static(c) not in (None, 3):
        raise PackError(
            f"{ONNX_MODEL}: input shape {shape} has {c} channels where pack.json: input.layout "
            f"{spec.layout} puts 3"
        )
    for dim in (h, w):
        if _static(dim) not in (None, spec.size):
            raise PackError(
                f"{ONNX_MODEL}: input shape {shape} does not match pack.json: input.size "
                f"{spec.size} with input.layout {spec.layout}"
            )
    outputs = session.get_outputs()
    names = [o.name for o in outputs]
    for i, head in enumerate(heads):
        ref = head.output if head.output is not None else i
        if isinstance(ref, int):
            if ref >= len(outputs):
                raise PackError(
                    f"pack.json: heads[{i}].output: index {ref}, but {ONNX_MODEL} has "
                    f"{len(outputs)} outputs"
                )
            out = outputs[ref]
        else:
            if ref not in names:
                raise PackError(
                    f"pack.json: heads[{i}].output: {ONNX_MODEL} has no output {ref!r} "
                    f"(outputs: {', '.join(names)})"
                )
            out = outputs[names.index(ref)]
        size = _static(out.shape[-1]) if out.shape else None
        if size is not None:
            _check_label_count(head, i, size, f"{ONNX_MODEL} output {out.name!r}")


def read_hf_config(folder: Path) -> dict[str, Any]:
    path = folder / HF_CONFIG
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(f"{HF_CONFIG}: file is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PackError(f"{HF_CONFIG}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise PackError(f"{HF_CONFIG}: expected an object")
    return data


def hf_labels(config: dict[str, Any]) -> list[str]:
    """Class names in output order from ``id2label`` (keys are stringified ints)."""
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise PackError(f"{HF_CONFIG}: id2label: missing or empty")
    try:
        by_id = {int(k): str(v) for k, v in id2label.items()}
    except ValueError:
        raise PackError(f"{HF_CONFIG}: id2label: keys must be integers") from None
    if sorted(by_id) != list(range(len(by_id))):
        raise PackError(f"{HF_CONFIG}: id2label: ids must be 0..{len(by_id) - 1}")
    return [by_id[i] for i in range(len(by_id))]


def check_hf(folder: Path, spec: InputSpec, heads: Sequence[HeadSpec]) -> None:
    config = read_hf_config(folder)
    if not isinstance(config.get("model_type"), str):
        raise PackError(f"{HF_CONFIG}: model_type: missing")
    n = len(hf_labels(config))
    shapes = read_safetensors_shapes(folder / HF_WEIGHTS)
    classifier = next((s for k, s in shapes.items() if k.endswith("classifier.weight")), None)
    if classifier is not None and classifier[0] != n:
        raise PackError(
            f"{HF_WEIGHTS}: classifier.weight has {classifier[0]} rows, but {HF_CONFIG} "
            f"id2label has {n} labels"
        )
    if len(heads) != 1:
        raise PackError(
            f"pack.json: heads: the hf backend has one classifier head, got {len(heads)}"
        )
    if heads[0].activation == "none":
        raise PackError(
            "pack.json: heads[0].activation: hf classifiers output logits; use softmax or sigmoid"
        )
    _check_label_count(heads[0], 0, n, f"{HF_CONFIG} id2label")
    image_size = config.get("image_size")
    if isinstance(image_size, int) and image_size != spec.size:
        raise PackError(
            f"pack.json: input.size: {spec.size}, but {HF_CONFIG} image_size is {image_size}"
        )


def check_multimodal(
    folder: Path, raw: Any, backend: str, config: ModelConfig | None
) -> MultimodalSpec | None:
    """The pack's ``multimodal`` field against its architecture and vocabulary file.

    A ViLT architecture must have it, anything else must not; the vocabulary must read as
    ``id,token`` rows with one row per embedding and the slot count must be the model's.
    """
    from models.multimodal_spec import MODES, MultimodalSpec
    from models.spec import require_int, require_object, require_str
    from models.tag_tokenizer import TagTokenizer

    where = "pack.json: multimodal"
    is_vilt = config is not None and config.name.startswith("vilt_")
    if raw is None:
        if config is not None and is_vilt:
            raise PackError(f"{where}: missing (required by the {config.name} architecture)")
        return None
    if backend != "torch" or not is_vilt:
        raise PackError(f"{where}: only a torch pack with a vilt_* architecture uses it")
    assert config is not None
    obj = require_object(raw, where)
    known = ("vocabulary", "max_text_seq_len", "modes", "tag_threshold")
    for key in obj:
        if key not in known:
            raise PackError(f"{where}.{key}: unknown field (known: {', '.join(known)})")
    vocabulary = require_str(obj, "vocabulary", where)
    if Path(vocabulary).name != vocabulary or vocabulary.startswith("."):
        raise PackError(f"{where}.vocabulary: {vocabulary!r} must be a file name in the pack")
    length = require_int(obj, "max_text_seq_len", where, minimum=3, maximum=4096)
    if length != config.max_text_seq_len:
        raise PackError(
            f"{where}.max_text_seq_len: {length}, but the architecture has "
            f"{config.max_text_seq_len} tag slots"
        )
    modes = obj.get("modes", list(MODES))
    if (
        not isinstance(modes, list)
        or not modes
        or any(m not in MODES for m in modes)
        or len(set(modes)) != len(modes)
    ):
        raise PackError(
            f"{where}.modes: expected a non-empty list of distinct modes from {', '.join(MODES)}, "
            f"got {modes!r}"
        )
    threshold = obj.get("tag_threshold", 0.5)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise PackError(f"{where}.tag_threshold: expected a number, got {threshold!r}")
    if not 0.0 < threshold <= 1.0:
        raise PackError(f"{where}.tag_threshold: {threshold} is not in (0, 1]")
    path = folder / vocabulary
    if not path.is_file():
        raise PackError(f"{vocabulary}: file is missing ({where}.vocabulary)")
    try:
        tokenizer = TagTokenizer.read_csv(path)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PackError(str(exc)) from None
    if len(tokenizer) != config.vocab_size:
        raise PackError(
            f"{vocabulary}: {len(tokenizer)} tokens, but the architecture has "
            f"vocab_size={config.vocab_size}"
        )
    return MultimodalSpec(vocabulary, length, tuple(modes), float(threshold))
