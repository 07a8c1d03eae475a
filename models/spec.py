"""The input spec and head spec of a pack, and their (strict) parsing from pack.json."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from models.errors import PackError
from models.labels import Label

RESIZE_MODES = ("stretch", "pad", "crop")
INTERPOLATIONS = ("bicubic", "bilinear")
CHANNEL_ORDERS = ("RGB", "BGR")
LAYOUTS = ("NCHW", "NHWC")
ACTIVATIONS = ("softmax", "sigmoid", "none")


@dataclass(frozen=True)
class InputSpec:
    """How a PIL image becomes one input sample.

    Pixels (0..255) are multiplied by ``scale``, then ``(x - mean) / std`` per channel, with
    ``mean``/``std`` listed in the model's ``channel_order``.
    """

    size: int = 128
    resize: str = "stretch"  # stretch | pad (to a square, with pad_color) | crop (center)
    pad_color: tuple[int, int, int] = (255, 255, 255)
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    channel_order: str = "RGB"
    layout: str = "NCHW"
    scale: float = 1.0 / 255.0
    # How pixels are resampled (antialiased, PIL's filters). Our training resizes bicubic; the
    # original Animesion code used torchvision's default, bilinear: an imported model must see
    # the pixels it was trained on.
    interpolation: str = "bicubic"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "size": self.size,
            "resize": self.resize,
            "pad_color": list(self.pad_color),
            "mean": list(self.mean),
            "std": list(self.std),
            "channel_order": self.channel_order,
            "layout": self.layout,
            "scale": self.scale,
        }
        if self.interpolation != "bicubic":  # packs written before the field read the same
            data["interpolation"] = self.interpolation
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str) -> InputSpec:
        obj = require_object(data, where)
        reject_unknown(
            obj,
            ("size", "resize", "pad_color", "mean", "std", "channel_order", "layout", "scale",
             "interpolation"),
            where,
        )
        size = require_int(obj, "size", where, minimum=1, maximum=8192)
        resize = require_choice(obj, "resize", where, RESIZE_MODES)
        pad = require_triple(obj, "pad_color", where, default=[255, 255, 255])
        if any(not float(c).is_integer() or not 0 <= c <= 255 for c in pad):
            raise PackError(f"{where}.pad_color: expected three integers 0..255, got {pad}")
        mean = require_triple(obj, "mean", where)
        std = require_triple(obj, "std", where)
        if any(s <= 0 for s in std):
            raise PackError(f"{where}.std: every value must be positive, got {std}")
        channel_order = require_choice(obj, "channel_order", where, CHANNEL_ORDERS)
        layout = require_choice(obj, "layout", where, LAYOUTS)
        scale = parse_scale(obj.get("scale"), f"{where}.scale")
        interpolation = (require_choice(obj, "interpolation", where, INTERPOLATIONS)
                         if "interpolation" in obj else "bicubic")
        return cls(
            size=size,
            resize=resize,
            pad_color=(int(pad[0]), int(pad[1]), int(pad[2])),
            mean=(mean[0], mean[1], mean[2]),
            std=(std[0], std[1], std[2]),
            channel_order=channel_order,
            layout=layout,
            scale=scale,
            interpolation=interpolation,
        )


@dataclass(frozen=True)
class HeadSpec:
    """One output of a pack: its labels and how to turn raw outputs into probabilities.

    ``output`` (onnx only) names the graph output by name or index; ``labels_file`` defaults
    to ``<name>.csv`` when written.
    """

    name: str
    activation: str
    labels: tuple[Label, ...] = field(default_factory=tuple)
    labels_file: str = ""
    output: str | int | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "activation": self.activation,
            "labels": self.labels_file or f"{self.name}.csv",
        }
        if self.output is not None:
            data["output"] = self.output
        return data


def parse_head(data: Any, where: str) -> tuple[str, str, str, str | int | None]:
    """(name, activation, labels file, output) of one heads[i] entry."""
    obj = require_object(data, where)
    reject_unknown(obj, ("name", "activation", "labels", "output"), where)
    name = require_str(obj, "name", where)
    activation = require_choice(obj, "activation", where, ACTIVATIONS)
    labels = require_str(obj, "labels", where)
    if "/" in labels or "\\" in labels or labels.startswith(".") or not labels.endswith(".csv"):
        raise PackError(
            f"{where}.labels: expected a .csv file name inside the pack, got {labels!r}"
        )
    output = obj.get("output")
    if output is not None and (isinstance(output, bool) or not isinstance(output, (str, int))):
        raise PackError(f"{where}.output: expected an output name or index, got {output!r}")
    if isinstance(output, int) and output < 0:
        raise PackError(f"{where}.output: index must be >= 0, got {output}")
    return name, activation, labels, output


# -- small strict readers; `where` is the path of the enclosing object ------------------


def at(where: str, key: str) -> str:
    """'pack.json:' + 'name' -> 'pack.json: name'; 'pack.json: input' + 'size' -> '... input.size'."""
    return f"{where} {key}" if where.endswith(":") else f"{where}.{key}"


def require_object(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PackError(f"{where}: expected an object, got {type(data).__name__}")
    return data


def reject_unknown(obj: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in obj:
        if key not in known:
            raise PackError(f"{at(where, key)}: unknown field (known: {', '.join(known)})")


def require_present(obj: dict[str, Any], key: str, where: str) -> None:
    if key not in obj:
        raise PackError(f"{at(where, key)}: missing")


def require_str(obj: dict[str, Any], key: str, where: str) -> str:
    require_present(obj, key, where)
    value = obj[key]
    if not isinstance(value, str) or not value:
        raise PackError(f"{at(where, key)}: expected a non-empty string, got {value!r}")
    return value


def require_int(obj: dict[str, Any], key: str, where: str, *, minimum: int, maximum: int) -> int:
    require_present(obj, key, where)
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise PackError(
            f"{at(where, key)}: expected an integer in [{minimum}, {maximum}], got {value!r}"
        )
    return value


def require_choice(obj: dict[str, Any], key: str, where: str, choices: tuple[str, ...]) -> str:
    require_present(obj, key, where)
    value = obj[key]
    if value not in choices:
        raise PackError(f"{at(where, key)}: expected one of {', '.join(choices)}, got {value!r}")
    return str(value)


def require_triple(
    obj: dict[str, Any], key: str, where: str, default: list[float] | None = None
) -> list[float]:
    if key not in obj and default is not None:
        return default
    require_present(obj, key, where)
    value = obj[key]
    if (
        not isinstance(value, list)
        or len(value) != 3
        or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
        or any(not math.isfinite(v) for v in value)
    ):
        raise PackError(f"{at(where, key)}: expected a list of three numbers, got {value!r}")
    return [float(v) for v in value]


def parse_scale(value: Any, where: str) -> float:
    """A positive number; a string fraction such as "1/255" is accepted for hand-written packs."""
    if value is None:
        raise PackError(f"{where}: missing")
    if isinstance(value, str):
        try:
            value = float(Fraction(value.replace(" ", "")))
        except (ValueError, ZeroDivisionError):
            raise PackError(f'{where}: expected a number such as 0.00392 or "1/255"') from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise PackError(f"{where}: expected a positive number, got {value!r}")
    return float(value)
