"""Vision Transformers (B/16, B/32, L/16, L/32) on top of transformers' ViTModel.

The model is built from a ViTConfig (any image size divisible by the patch size; 128 px by
default) and never downloads anything. Per-layer CLS tokens come from
``output_hidden_states`` rather than hooks; with ``ifa=True`` they feed :class:`IFAPooling`.

State-dict keys are kept in one canonical layout (the classic ``encoder.layer.N.attention.
attention.query`` names that Hub checkpoints carry) whatever transformers version is
installed: 5.x renamed the modules (``layers.N.attention.q_proj``), and a pack written under
one version must load under the other.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from transformers import ViTConfig, ViTModel

from models.base import AnimesionModel
from models.config import ModelConfig
from models.heads import IFAPooling
from models.registry import register_model

# name -> (hidden_size, num_layers, num_attention_heads, mlp_dim, patch_size)
VIT_SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "vit_b16": (768, 12, 12, 3072, 16),
    "vit_b32": (768, 12, 12, 3072, 32),
    "vit_l16": (1024, 24, 16, 4096, 16),
    "vit_l32": (1024, 24, 16, 4096, 32),
}
DEFAULT_LAYER_NORM_EPS = 1e-6

# transformers 5.x per-layer names -> classic (canonical) names, longest first.
_V5_TO_CANONICAL = (
    ("attention.q_proj.", "attention.attention.query."),
    ("attention.k_proj.", "attention.attention.key."),
    ("attention.v_proj.", "attention.attention.value."),
    ("attention.o_proj.", "attention.output.dense."),
    ("mlp.fc1.", "intermediate.dense."),
    ("mlp.fc2.", "output.dense."),
)
_V5_LAYER = re.compile(r"^layers\.(\d+)\.(.*)$")
_CANONICAL_LAYER = re.compile(r"^encoder\.layer\.(\d+)\.(.*)$")


def to_canonical_key(key: str) -> str:
    """A key relative to the ViTModel, from the installed layout to the canonical one."""
    m = _V5_LAYER.match(key)
    if not m:
        return key
    rest = m.group(2)
    for new, old in _V5_TO_CANONICAL:
        if rest.startswith(new):
            rest = old + rest[len(new) :]
            break
    return f"encoder.layer.{m.group(1)}.{rest}"


def to_v5_key(key: str) -> str:
    m = _CANONICAL_LAYER.match(key)
    if not m:
        return key
    rest = m.group(2)
    for new, old in _V5_TO_CANONICAL:
        if rest.startswith(old):
            rest = new + rest[len(old) :]
            break
    return f"layers.{m.group(1)}.{rest}"


def _rename_under(state: MutableMapping[str, Any], prefix: str, fn: Any) -> None:
    for key in [k for k in state if k.startswith(prefix)]:
        new = prefix + fn(key[len(prefix) :])
        if new != key:
            state[new] = state.pop(key)


def _install_canonical_names(vit: ViTModel) -> None:
    if not hasattr(vit, "layers"):
        return  # transformers 4.x: the installed layout already is the canonical one

    def on_save(module: nn.Module, state: MutableMapping[str, Any], prefix: str, meta: Any) -> None:
        _rename_under(state, prefix, to_canonical_key)

    def on_load(
        module: nn.Module, state: MutableMapping[str, Any], prefix: str, *args: Any
    ) -> None:
        _rename_under(state, prefix, to_v5_key)

    register = getattr(vit, "register_state_dict_post_hook", None) or vit._register_state_dict_hook
    register(on_save)
    vit.register_load_state_dict_pre_hook(on_load)


def resolve_vit_config(config: ModelConfig) -> ModelConfig:
    """Fill the ViT fields left None with the registered size for ``config.name``."""
    # vilt_* models share the sizes of the ViT they extend
    hidden, layers, heads, mlp, patch = VIT_SIZES[config.name.replace("vilt_", "vit_", 1)]
    filled = replace(
        config,
        hidden_size=config.hidden_size or hidden,
        num_layers=config.num_layers or layers,
        num_attention_heads=config.num_attention_heads or heads,
        mlp_dim=config.mlp_dim or mlp,
        patch_size=config.patch_size or patch,
        layer_norm_eps=config.layer_norm_eps or DEFAULT_LAYER_NORM_EPS,
    )
    assert filled.hidden_size and filled.num_attention_heads and filled.patch_size
    if filled.hidden_size % filled.num_attention_heads:
        raise ValueError(
            f"hidden_size: {filled.hidden_size} is not divisible by "
            f"num_attention_heads={filled.num_attention_heads}"
        )
    if filled.image_size % filled.patch_size:
        raise ValueError(
            f"image_size: {filled.image_size} is not a multiple of patch_size={filled.patch_size}"
        )
    return filled


class VisionTransformer(AnimesionModel):
    family = "vit"

    def __init__(self, config: ModelConfig) -> None:
        config = resolve_vit_config(config)
        assert config.hidden_size and config.num_layers and config.num_attention_heads
        assert config.mlp_dim and config.patch_size and config.layer_norm_eps
        super().__init__(config, num_features=config.hidden_size)
        hf_config = ViTConfig(
            hidden_size=config.hidden_size,
            num_hidden_layers=config.num_layers,
            num_attention_heads=config.num_attention_heads,
            intermediate_size=config.mlp_dim,
            image_size=config.image_size,
            patch_size=config.patch_size,
            layer_norm_eps=config.layer_norm_eps,
            hidden_dropout_prob=config.dropout,
            attention_probs_dropout_prob=0.0,
            qkv_bias=True,
        )
        self.backbone = ViTModel(hf_config, add_pooling_layer=False)
        _install_canonical_names(self.backbone)
        self.ifa = (
            IFAPooling(config.num_layers, config.hidden_size, config.layer_norm_eps)
            if config.ifa
            else None
        )

    def forward_intermediates(self, x: Tensor) -> list[Tensor]:
        out = self.backbone(pixel_values=x, output_hidden_states=True)
        # hidden_states: embeddings + one per block, each [N, 1 + (S/P)^2, D]; keep block CLS
        return [h[:, 0] for h in out.hidden_states[1:]]  # L x [N, D]

    def forward_features(self, x: Tensor) -> Tensor:
        if self.ifa is None:
            return self.backbone(pixel_values=x).last_hidden_state[:, 0]  # final-norm CLS [N, D]
        cls = torch.stack(self.forward_intermediates(x), dim=1)  # [N, L, D]
        return self.ifa(cls)  # [N, D]

    def load_pretrained_backbone(self, path: Path) -> None:
        """Load the encoder from a local Hugging Face ViT folder (config.json + safetensors)."""
        if not (path / "config.json").is_file():
            raise ValueError(f"{path}: expected a Hugging Face ViT folder with config.json")
        source = ViTModel.from_pretrained(
            str(path), local_files_only=True, use_safetensors=True, add_pooling_layer=False
        )
        src, cfg = source.config, self.config
        for ours, theirs in (
            ("hidden_size", "hidden_size"),
            ("num_layers", "num_hidden_layers"),
            ("num_attention_heads", "num_attention_heads"),
            ("mlp_dim", "intermediate_size"),
            ("patch_size", "patch_size"),
        ):
            if getattr(cfg, ours) != getattr(src, theirs):
                raise ValueError(
                    f"{path.name}: {theirs}={getattr(src, theirs)} but {cfg.name} has "
                    f"{ours}={getattr(cfg, ours)}"
                )
        state = dict(source.state_dict())  # same transformers version, so native names
        key = "embeddings.position_embeddings"
        assert cfg.patch_size  # filled in by resolve_vit_config
        state[key] = resize_position_embeddings(state[key], cfg.image_size // cfg.patch_size)
        self.backbone.load_state_dict(state, strict=True)


def resize_position_embeddings(pos: Tensor, grid: int) -> Tensor:
    """[1, 1 + g0*g0, D] -> [1, 1 + grid*grid, D], bicubic on the patch grid, CLS kept."""
    cls, patches = pos[:, :1], pos[:, 1:]
    g0 = int(round(patches.shape[1] ** 0.5))
    if g0 * g0 != patches.shape[1]:
        raise ValueError(f"position embeddings of {patches.shape[1]} patches are not a square grid")
    if g0 == grid:
        return pos
    d = patches.shape[2]
    x = patches.reshape(1, g0, g0, d).permute(0, 3, 1, 2)  # [1, D, g0, g0]
    x = F.interpolate(x, size=(grid, grid), mode="bicubic", align_corners=False)
    x = x.permute(0, 2, 3, 1).reshape(1, grid * grid, d)  # [1, grid^2, D]
    return torch.cat([cls, x], dim=1)


def _build(config: ModelConfig) -> AnimesionModel:
    return VisionTransformer(config)


for _name in VIT_SIZES:
    register_model(_name)(_build)
