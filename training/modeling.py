"""Building the model for a run, transferring weights into it, and the training forward pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from models.base import AnimesionModel
from models.config import ModelConfig
from models.pretrained import IMAGENET
from models.registry import build_model, create_model, list_models
from models.weights import load_state_dict_file
from training.checkpoint import clean_state_dict
from training.config import TrainConfig
from training.data.labels import LabelSpace
from training.errors import TrainingError


def new_model(cfg: TrainConfig, space: LabelSpace) -> AnimesionModel:
    if cfg.model not in list_models():
        raise TrainingError(f"unknown model {cfg.model!r} (choose from {', '.join(list_models())})")
    if cfg.pretrained and cfg.pretrained != IMAGENET and not Path(cfg.pretrained).exists():
        raise TrainingError(f"{cfg.pretrained}: pretrained weights do not exist")
    try:
        return create_model(
            cfg.model, heads=space.sizes(), image_size=cfg.image_size, ifa=cfg.ifa,
            pretrained=cfg.pretrained, dropout=cfg.dropout,
        )
    except ValueError as exc:
        raise TrainingError(f"model {cfg.model}: {exc}") from None


def model_from_checkpoint(ckpt: dict[str, Any]) -> AnimesionModel:
    model = build_model(ModelConfig.from_dict(dict(ckpt["model_config"])))
    model.load_state_dict(clean_state_dict(ckpt["state_dict"]), strict=True)
    return model


def transfer_weights(model: nn.Module, path: Path | str) -> tuple[int, list[str]]:
    """Load every tensor of `path` whose name and shape match; heads whose classes differ (and
    anything else that does not fit) keep their fresh initialisation. Returns (loaded, skipped)."""
    path = Path(path)
    if not path.exists():
        raise TrainingError(f"{path}: transfer checkpoint does not exist")
    try:
        source = clean_state_dict(load_state_dict_file(path))  # weights_only / safetensors
    except ValueError as exc:
        raise TrainingError(str(exc)) from None
    target = model.state_dict()
    usable = {k: v for k, v in source.items() if k in target and target[k].shape == v.shape}
    if not usable:
        raise TrainingError(f"{path}: no tensor matches this model ({model.__class__.__name__})")
    model.load_state_dict(usable, strict=False)
    skipped = sorted(k for k in target if k not in usable)
    return len(usable), skipped


class TrainForward(nn.Module):
    """What DDP wraps: logits per head and, for the exclusion loss, the per-block CLS tokens
    from the same pass. Calling methods other than forward on a DDP-wrapped model would skip
    its gradient bookkeeping, hence this module rather than model.forward_intermediates()."""

    def __init__(self, model: AnimesionModel, with_intermediates: bool = False):
        super().__init__()
        self.model = model
        self.with_intermediates = with_intermediates

    def forward(self, x: Tensor) -> tuple[dict[str, Tensor], list[Tensor]]:
        if not self.with_intermediates:
            return self.model(x), []
        ifa = getattr(self.model, "ifa", None)
        inter = self.model.forward_intermediates(x)  # L x [N, D]
        if ifa is None:  # pragma: no cover - guarded by check_exclusion
            raise TrainingError("the exclusion loss needs an IFA ViT")
        features = ifa(torch.stack(inter, dim=1))  # [N, L, D] -> [N, D]
        return self.model.forward_head(features), inter


def check_exclusion(cfg: TrainConfig, model: AnimesionModel) -> None:
    if cfg.exclusion_loss and getattr(model, "ifa", None) is None:
        # Animesion ties the exclusion loss to the intermediate-features head as well.
        raise TrainingError("--exclusion-loss needs --ifa on a ViT model (vit_b16, vit_l16, ...)")
