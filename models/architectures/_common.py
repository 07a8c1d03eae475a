"""Helpers shared by the CNN architectures."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from models.config import VIT_FIELDS, ModelConfig
from models.pretrained import check_backbone_state
from models.weights import load_state_dict_file, strip_prefix


def reject_vit_fields(config: ModelConfig) -> None:
    given = [f for f in VIT_FIELDS if getattr(config, f) is not None]
    if given:
        raise ValueError(f"{given[0]}: only ViT models take this field, not {config.name}")
    if config.ifa:
        raise ValueError(f"ifa: the IFA head needs a ViT, not {config.name}")


def load_torchvision_backbone(backbone: nn.Module, path: Path, classifier_prefix: str) -> None:
    """Load a torchvision weights file into ``backbone``, skipping its ImageNet classifier.

    Every backbone tensor must be present with the right shape: a partial load would leave
    random layers behind without anyone noticing.
    """
    state = strip_prefix(load_state_dict_file(path), "module.")
    state = {k: v for k, v in state.items() if not k.startswith(classifier_prefix)}
    check_backbone_state(backbone, state, path.name)
    backbone.load_state_dict(state, strict=True)
