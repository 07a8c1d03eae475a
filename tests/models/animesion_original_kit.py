"""Checkpoints of the original Animesion ViT (+ IFA), built here, and that code's own forward
pass, written from its math on the raw tensors (independent of models/, which the importer
maps these keys onto). Used by tests/models/test_importers.py and
benchmarks/bench_ifa_agreement.py.

What the original does (read from the public arkel23/animesion repository,
classification_tagging/models/vit_animesion/ and utilities/model_selection.py):

- ``VisionTransformer`` wraps the ViT as ``model``: ``model.patch_embedding`` (Conv2d P x P,
  stride P), ``model.class_token`` [1, 1, D], ``model.positional_embedding.pos_embedding``
  [1, 1 + N, D], ``model.transformer.blocks.i.{attn.proj_q, attn.proj_k, attn.proj_v, proj,
  norm1, norm2, pwff.fc1, pwff.fc2}``; ``model.norm`` and ``model.fc`` only without IFA (the
  IFA model is built without its fc layer). ``train.py`` saves ``model.state_dict()``.
- Blocks are pre-norm: x + proj(attention(norm1(x))), then x + fc2(gelu(fc1(norm2(x)))), exact
  GELU, attention scores divided by sqrt(head width); every LayerNorm has eps 1e-12.
- IFA: ``inter_class_head = Sequential(Linear(L, 1), Rearrange('b d 1 -> b d'), ReLU,
  LayerNorm(D), Linear(D, classes))`` applied to the class token of every block's output,
  stacked on the last axis: [B, D, L].
- Inference (``inference.py``): ``Resize((S, S))`` (torchvision's default, bilinear),
  ``ToTensor``, ``Normalize(0.5, 0.5)`` on ``Image.open(path).convert('RGB')``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class OriginalViT:
    hidden: int = 128
    layers: int = 2
    heads: int = 2  # the importer infers D // 64
    mlp: int = 256
    patch: int = 8
    size: int = 32
    classes: int = 3
    eps: float = 1e-12


TINY = OriginalViT()
VIT_B16 = OriginalViT(hidden=768, layers=12, heads=12, mlp=3072, patch=16, size=128,
                      classes=3263)  # the paper's DAF:re ViT-B/16 at 128 px


def original_blocks(layers: int, d: int, mlp: int, weight: Callable[..., torch.Tensor],
                    small: Callable[..., torch.Tensor]) -> dict[str, torch.Tensor]:
    """The encoder blocks under the original key names (``model.transformer.blocks.i.*``;
    the ViT's and the ViLT's are the same). ``weight(*shape)`` draws the projection and MLP
    matrices, ``small(*shape)`` the biases and the LayerNorms' offsets from 1, in key order."""
    sd = {}
    for i in range(layers):
        b = f"model.transformer.blocks.{i}."
        for proj in ("attn.proj_q", "attn.proj_k", "attn.proj_v", "proj"):
            sd[b + proj + ".weight"], sd[b + proj + ".bias"] = weight(d, d), small(d)
        for norm in ("norm1", "norm2"):
            sd[b + norm + ".weight"], sd[b + norm + ".bias"] = 1 + small(d), small(d)
        sd[b + "pwff.fc1.weight"], sd[b + "pwff.fc1.bias"] = weight(mlp, d), small(mlp)
        sd[b + "pwff.fc2.weight"], sd[b + "pwff.fc2.bias"] = weight(d, mlp), small(d)
    return sd


def original_vit_state(cfg: OriginalViT = TINY, *, ifa: bool, seed: int = 0,
                       scale: float | None = 0.05, head_scale: float = 0.5,
                       final_norm: bool = True) -> dict[str, torch.Tensor]:
    """Random tensors under the original key names. ``scale`` is the std of every weight
    (None: Xavier's, as the original initialises Linear layers); ``head_scale`` that of the
    classifier, so a large one makes a sharp head. ``final_norm``: keep ``model.norm`` with
    IFA too (the original IFA model has none)."""
    g = torch.Generator().manual_seed(seed)
    d, n_mlp = cfg.hidden, cfg.mlp

    def rnd(*shape: int, std: float = 0.05) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * std

    def weight(*shape: int) -> torch.Tensor:
        std = scale if scale is not None else math.sqrt(2.0 / (shape[0] + shape[1]))
        return rnd(*shape, std=std)

    def small(*shape: int) -> torch.Tensor:
        return rnd(*shape, std=scale if scale is not None else 0.02)

    grid = cfg.size // cfg.patch
    sd = {
        "model.patch_embedding.weight": small(d, 3, cfg.patch, cfg.patch),
        "model.patch_embedding.bias": small(d),
        "model.class_token": small(1, 1, d),
        "model.positional_embedding.pos_embedding": small(1, 1 + grid * grid, d),
    }
    if final_norm or not ifa:
        sd["model.norm.weight"], sd["model.norm.bias"] = 1 + small(d), small(d)
    sd.update(original_blocks(cfg.layers, d, n_mlp, weight, small))
    if ifa:
        sd["inter_class_head.0.weight"] = rnd(1, cfg.layers, std=0.5)  # nn.Linear(L, 1)
        sd["inter_class_head.0.bias"] = small(1)
        sd["inter_class_head.3.weight"], sd["inter_class_head.3.bias"] = 1 + small(d), small(d)
        sd["inter_class_head.4.weight"] = rnd(cfg.classes, d, std=head_scale)
        sd["inter_class_head.4.bias"] = small(cfg.classes)
    else:
        sd["model.fc.weight"] = rnd(cfg.classes, d, std=head_scale)
        sd["model.fc.bias"] = small(cfg.classes)
    return sd


def reference_logits(sd: dict[str, torch.Tensor], x: torch.Tensor, ifa: bool,
                     cfg: OriginalViT = TINY) -> torch.Tensor:
    """The original forward pass on a [B, 3, S, S] batch, from the raw keys."""
    d, heads, n = cfg.hidden, cfg.heads, x.shape[0]

    def lin(t: torch.Tensor, key: str) -> torch.Tensor:
        return F.linear(t, sd[key + ".weight"], sd[key + ".bias"])

    def norm(t: torch.Tensor, key: str) -> torch.Tensor:
        return F.layer_norm(t, (d,), sd[key + ".weight"], sd[key + ".bias"], cfg.eps)

    t = F.conv2d(x, sd["model.patch_embedding.weight"], sd["model.patch_embedding.bias"],
                 stride=cfg.patch)
    t = t.flatten(2).transpose(1, 2)  # b,d,gh,gw -> b,gh*gw,d
    t = torch.cat([sd["model.class_token"].expand(n, -1, -1), t], dim=1)
    t = t + sd["model.positional_embedding.pos_embedding"]
    blocks = []
    for i in range(cfg.layers):
        b = f"model.transformer.blocks.{i}."
        h = norm(t, b + "norm1")
        q, k, v = (
            lin(h, b + f"attn.proj_{c}").view(n, -1, heads, d // heads).transpose(1, 2)
            for c in "qkv"
        )
        scores = (q @ k.transpose(-2, -1) / math.sqrt(d // heads)).softmax(-1)
        h = (scores @ v).transpose(1, 2).reshape(n, -1, d)
        t = t + lin(h, b + "proj")
        t = t + lin(F.gelu(lin(norm(t, b + "norm2"), b + "pwff.fc1")), b + "pwff.fc2")
        blocks.append(t)
    if not ifa:
        return lin(norm(t, "model.norm")[:, 0], "model.fc")
    stacked = torch.stack(blocks, dim=-1)[:, 0]  # b, d, L
    h = lin(stacked, "inter_class_head.0").squeeze(-1)  # b, d
    h = F.layer_norm(
        F.relu(h), (d,), sd["inter_class_head.3.weight"], sd["inter_class_head.3.bias"], cfg.eps
    )
    return lin(h, "inter_class_head.4")


def original_input(path: Path, size: int) -> torch.Tensor:
    """One image as the original inference.py feeds it: [3, S, S]."""
    from PIL import Image
    from torchvision import transforms

    transform = transforms.Compose([
        transforms.Resize((size, size)),  # the default interpolation: bilinear
        transforms.ToTensor(),
        transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ])
    with Image.open(path) as im:
        return transform(im.convert("RGB"))


def write_checkpoint(folder: Path, sd: dict[str, torch.Tensor], classes, name: str) -> Path:
    """The checkpoint and its ``classid_classname.csv`` (``id,name`` rows, no header)."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(sd, folder / name)
    (folder / "classid_classname.csv").write_text(
        "".join(f"{i},{c}\n" for i, c in enumerate(classes)))
    return folder / name
