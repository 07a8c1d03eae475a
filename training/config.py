"""The training configuration: one dataclass, filled from defaults, a YAML/TOML file, then flags.

Precedence is defaults < config file < command-line flags given explicitly. The resolved
config is written beside the checkpoints (config.yaml) and stored in every checkpoint as a
plain dict, so a run can be repeated or resumed without the original command line.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from training.errors import TrainingError

SCHEDULERS = ("warmup_cosine", "epoch_decay", "constant")
OPTIMIZERS = ("sgd", "adamw")


@dataclass
class TrainConfig:
    # Data
    dataset: str = "synthetic"
    data: str | None = None
    out: str = "runs/train"
    split_fractions: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    heads: list[str] | None = None  # None: every head the data set labels
    min_tag_count: int = 1
    synthetic_characters: int = 20
    synthetic_per_character: int = 60
    synthetic_size: int = 64
    synthetic_seed: int = 0
    synthetic_image_seed: int | None = None
    # Recipe: what filled the fields the user left unset (training.recipe). "custom": nothing
    # did (a TrainConfig built in code, or a resumed run); else finetune or scratch.
    recipe: str = "custom"
    # Model
    model: str = "resnet18"
    image_size: int = 128
    ifa: bool = False
    dropout: float = 0.0
    pretrained: str | None = None
    transfer: str | None = None
    resume: str | None = None
    # Optimisation (Animesion: SGD, momentum 0.9, lr 1e-3, warmup + cosine)
    optimizer: str = "sgd"
    lr: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 10
    scheduler: str = "warmup_cosine"
    warmup_steps: int | None = None  # None: 5 % of all steps
    epoch_decay: int = 20  # epoch_decay: lr /= 3 every this many epochs
    grad_accum: int = 1
    label_smoothing: float = 0.0
    grad_clip: float | None = None  # max gradient norm; None: no clipping (as Animesion)
    class_balanced: float | None = None  # beta of the effective-number weights, e.g. 0.999
    exclusion_loss: bool = False
    exclusion_weight: float = 0.01
    exclusion_temperature: float = 1.0
    exclusion_distance: int = 2
    amp: bool = False
    # Multimodal (ViLT: tag tokens after the image tokens; training.multimodal_train)
    multimodal: bool = False
    max_text_seq_len: int = 16
    mask_schedule: str = "cosine"
    masking_behavior: str = "constant"
    shuffle_tokens: bool = False
    tag_loss_weight: float = 1.0
    # Augmentation
    resize_margin: int = 32
    hflip: bool = True
    color_jitter: float = 0.1
    # Running
    seed: int = 0
    device: str | None = None
    workers: int | None = None
    max_minutes: float | None = None
    max_steps: int | None = None  # stop after this many optimiser steps (smoke tests)
    log_every: int = 20

    def validate(self) -> TrainConfig:
        if self.scheduler not in SCHEDULERS:
            raise TrainingError(f"scheduler: choose from {', '.join(SCHEDULERS)}")
        if self.optimizer not in OPTIMIZERS:
            raise TrainingError(f"optimizer: choose from {', '.join(OPTIMIZERS)}")
        for name in ("batch_size", "epochs", "grad_accum", "image_size", "epoch_decay"):
            if getattr(self, name) < 1:
                raise TrainingError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise TrainingError(f"lr: must be positive, got {self.lr}")
        if not 0 <= self.label_smoothing < 1:
            raise TrainingError(f"label_smoothing: must be in [0, 1), got {self.label_smoothing}")
        if self.class_balanced is not None and not 0 < self.class_balanced < 1:
            raise TrainingError(f"class_balanced: beta must be in (0, 1), got {self.class_balanced}")
        if len(self.split_fractions) != 3 or min(self.split_fractions) < 0:
            raise TrainingError("split_fractions: three non-negative numbers (train val test)")
        if self.resume and self.transfer:
            raise TrainingError("resume and transfer exclude each other")
        self._validate_multimodal()
        return self

    def _validate_multimodal(self) -> None:
        from training.multimodal_masking import MASK_SCHEDULES, MASKING_BEHAVIORS

        if self.mask_schedule not in MASK_SCHEDULES:
            raise TrainingError(f"mask_schedule: choose from {', '.join(MASK_SCHEDULES)}")
        if self.masking_behavior not in MASKING_BEHAVIORS:
            raise TrainingError(f"masking_behavior: choose from {', '.join(MASKING_BEHAVIORS)}")
        if self.max_text_seq_len < 3:
            raise TrainingError(f"max_text_seq_len: at least 3 ([CLS], a tag, [SEP]), got "
                                f"{self.max_text_seq_len}")
        if self.tag_loss_weight < 0:
            raise TrainingError(f"tag_loss_weight: must be >= 0, got {self.tag_loss_weight}")
        if self.multimodal and not self.model.startswith("vilt_"):
            raise TrainingError(f"multimodal: needs a vilt_* model, got {self.model}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FIELD_NAMES = tuple(f.name for f in fields(TrainConfig))


def _coerce(name: str, value: Any, where: str) -> Any:
    """Check a config-file value against the field's annotation (files carry no types we trust)."""
    hints = typing.get_type_hints(TrainConfig)
    annotation = hints[name]
    args = typing.get_args(annotation)
    optional = type(None) in args
    if value is None:
        if optional:
            return None
        raise TrainingError(f"{where}: {name}: may not be empty")
    base = next(a for a in args if a is not type(None)) if optional else annotation
    origin = typing.get_origin(base)
    if origin is list or base is list:
        if not isinstance(value, list):
            raise TrainingError(f"{where}: {name}: expected a list, got {value!r}")
        item = (typing.get_args(base) or (str,))[0]
        return [_scalar(name, v, item, where) for v in value]
    return _scalar(name, value, base, where)


def _scalar(name: str, value: Any, kind: Any, where: str) -> Any:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and number and float(value).is_integer():
        return int(value)
    if kind is float and number:
        return float(value)
    if kind is str and (isinstance(value, str) or number):
        return str(value)
    kind_name = getattr(kind, "__name__", str(kind))
    raise TrainingError(f"{where}: {name}: expected {kind_name}, got {value!r}")


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML or TOML mapping of option names (dashes or underscores) to values."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: config file does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10 (tomli is a dependency there)
                import tomli as tomllib
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text)  # safe_load: plain data only, never Python objects
    except (yaml.YAMLError, ValueError) as exc:
        raise TrainingError(f"{path}: cannot parse ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TrainingError(f"{path}: expected a mapping of option: value")
    resolved: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in FIELD_NAMES:
            raise TrainingError(f"{path}: unknown option {key!r}")
        resolved[name] = _coerce(name, value, str(path))
    return resolved


def resolve_config(
    file_values: dict[str, Any] | None = None, flag_values: dict[str, Any] | None = None
) -> TrainConfig:
    return resolve_with_recipe(file_values, flag_values)[0]


def resolve_with_recipe(
    file_values: dict[str, Any] | None = None, flag_values: dict[str, Any] | None = None
) -> tuple[TrainConfig, str | None, str]:
    """(config, a note for the user or None, a one-line description of the recipe)."""
    from training.recipe import apply_recipe, describe

    given = {**(file_values or {}), **(flag_values or {})}
    unknown = set(given) - set(FIELD_NAMES)
    if unknown:
        raise TrainingError(f"unknown option(s): {', '.join(sorted(unknown))}")
    values, note = apply_recipe(given)
    cfg = TrainConfig(**values).validate()
    return cfg, note, describe(cfg.to_dict(), given)


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild from a checkpoint's plain dict, ignoring options this version does not know."""
    known = {k: v for k, v in data.items() if k in FIELD_NAMES}
    return dataclasses.replace(TrainConfig(), **known)


def save_config(config: TrainConfig, path: Path) -> None:
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")

