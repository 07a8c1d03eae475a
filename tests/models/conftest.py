"""Small artifacts the models tests build themselves (no network, files only in tmp_path).

Test modules get these through the ``kit`` fixture. The original Animesion ViT's key layout
and forward pass, shared with benchmarks/bench_ifa_agreement.py, are a module of their own,
animesion_original_kit.py, imported by name (tests/models is on pytest's pythonpath).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from models.labels import Label
from models.spec import HeadSpec

# A ViT small enough to build and run in milliseconds.
TINY_VIT = dict(hidden_size=64, num_layers=2, num_attention_heads=2, mlp_dim=128, patch_size=8)


def labels(n: int, category: str, prefix: str | None = None, threshold: float = 0.5):
    return tuple(Label(f"{prefix or category}_{i}", category, threshold) for i in range(n))


def heads_for(sizes: dict[str, int]) -> list[HeadSpec]:
    from models.heads import default_activation

    category = {"rating": "rating", "copyright": "copyright", "general": "general"}
    return [
        HeadSpec(name, default_activation(name), labels(n, category.get(name, "character"), name))
        for name, n in sizes.items()
    ]


def build_channel_model(
    size: int = 32, batch: int | str = "batch", layout: str = "NHWC", tags: int = 4
) -> bytes:
    """ONNX graph: image -> per-channel mean [N,3] -> MatMul W [3,tags] -> Sigmoid.

    Column j of W reads channel j (for j < 3) with weight 4/255, so a saturated channel gives
    sigmoid(4) ~ 0.98 and an empty one 0.5: the output shows which channel held what.
    """
    from onnx import TensorProto, helper, numpy_helper

    shape = [batch, size, size, 3] if layout == "NHWC" else [batch, 3, size, size]
    axes = [1, 2] if layout == "NHWC" else [2, 3]
    w = np.zeros((3, tags), dtype=np.float32)
    for j in range(min(3, tags)):
        w[j, j] = 4.0 / 255.0
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["image"], ["means"], axes=axes, keepdims=0),
            helper.make_node("MatMul", ["means", "w"], ["logits"]),
            helper.make_node("Sigmoid", ["logits"], ["probs"]),
        ],
        "channels",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [batch, tags])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # readable by every onnxruntime the project allows
    return model.SerializeToString()


@pytest.fixture
def kit() -> SimpleNamespace:
    return SimpleNamespace(
        TINY_VIT=dict(TINY_VIT),
        labels=labels,
        heads_for=heads_for,
        channel_model=build_channel_model,
    )


@pytest.fixture
def wd_folder(tmp_path: Path) -> Path:
    """A WD-tagger-shaped folder: model.onnx (NHWC 32 px, 4 outputs) + selected_tags.csv."""
    folder = tmp_path / "wd-tiny-tagger"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(build_channel_model(size=32, tags=4))
    (folder / "selected_tags.csv").write_text(
        "tag_id,name,category,count\n"
        "9999999,general,9,100\n"
        "1,blue_theme,0,50\n"
        "2,green_theme,0,40\n"
        "3,hatsune_miku,4,30\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def hf_folder(tmp_path: Path) -> Path:
    """A tiny ViTForImageClassification saved with safetensors, 3 labels."""
    import torch
    from transformers import ViTConfig, ViTForImageClassification

    torch.manual_seed(0)
    config = ViTConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        image_size=32,
        patch_size=16,
        id2label={0: "rem", 1: "ram", 2: "emilia"},
        label2id={"rem": 0, "ram": 1, "emilia": 2},
    )
    model = ViTForImageClassification(config).eval()
    folder = tmp_path / "hf-vit-tiny"
    model.save_pretrained(folder, safe_serialization=True)
    return folder
