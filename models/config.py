"""ModelConfig: the plain-dict description that rebuilds a model (nanoGPT style).

A checkpoint or a pack stores ``dataclasses.asdict(model.config)``; ``ModelConfig(**that)``
plus :func:`models.registry.build_model` gives back the same module tree, so weights load
with ``strict=True`` and nothing is ever pickled.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

HEAD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# ViT-only fields; a CNN must leave them None.
VIT_FIELDS = (
    "hidden_size",
    "num_layers",
    "num_attention_heads",
    "mlp_dim",
    "patch_size",
    "layer_norm_eps",
)
# ViLT-only fields (tag tokens appended to the image tokens).
VILT_FIELDS = ("vocab_size", "max_text_seq_len")


@dataclass
class ModelConfig:
    """Everything needed to rebuild an :class:`~models.base.AnimesionModel`.

    ``name`` is a registry name (``vit_b16``, ``resnet50`` ...). The ViT fields default to the
    registered size and are filled in by the builder, so a saved config is fully explicit and
    survives later changes of registry defaults.
    """

    name: str
    heads: dict[str, int] = field(default_factory=dict)
    image_size: int = 128
    ifa: bool = False
    dropout: float = 0.0
    hidden_size: int | None = None
    num_layers: int | None = None
    num_attention_heads: int | None = None
    mlp_dim: int | None = None
    patch_size: int | None = None
    layer_norm_eps: float | None = None
    vocab_size: int | None = None
    max_text_seq_len: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: expected a registry name, got {self.name!r}")
        if not isinstance(self.heads, dict) or not self.heads:
            raise ValueError(
                f"heads: expected a non-empty mapping name -> classes, got {self.heads!r}"
            )
        for head, size in self.heads.items():
            if not isinstance(head, str) or not HEAD_NAME_RE.match(head):
                raise ValueError(f"heads: {head!r} is not a valid head name (lowercase identifier)")
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(
                    f"heads.{head}: expected a positive number of classes, got {size!r}"
                )
        _check_int(self.image_size, "image_size", minimum=16)
        if not isinstance(self.ifa, bool):
            raise ValueError(f"ifa: expected true or false, got {self.ifa!r}")
        if (
            isinstance(self.dropout, bool)
            or not isinstance(self.dropout, (int, float))
            or not (0.0 <= self.dropout < 1.0)
        ):
            raise ValueError(f"dropout: expected a number in [0, 1), got {self.dropout!r}")
        for name in VIT_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if name == "layer_norm_eps":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                    raise ValueError(f"layer_norm_eps: expected a positive number, got {value!r}")
            else:
                _check_int(value, name, minimum=1)
        for name in VILT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                # 5 special tokens plus one tag at least; [CLS] and [SEP] plus one tag slot
                _check_int(value, name, minimum=6 if name == "vocab_size" else 3)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ModelConfig:
        """Like ``ModelConfig(**data)`` but with a ValueError naming the unknown field."""
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, got {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown field (known: {', '.join(sorted(known))})")
        if "name" not in data:
            raise ValueError("name: missing")
        return cls(**data)


def _check_int(value: Any, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
