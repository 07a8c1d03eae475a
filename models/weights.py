"""Reading tensors from weight files without ever unpickling arbitrary objects."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor

# Wrappers that training scripts commonly put around a state_dict.
_NESTED_KEYS = ("state_dict", "model_state_dict", "model", "net")


def load_state_dict_file(path: str | Path) -> dict[str, Tensor]:
    """Tensors from a .safetensors file, or from a torch file loaded with weights_only=True.

    A top-level dict that only wraps the state_dict (``{"state_dict": {...}}``) is unwrapped.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # the unpickler refuses anything but tensors and plain containers
        raise ValueError(
            f"{path.name}: cannot be read as a weights-only checkpoint: {exc}"
        ) from exc
    return extract_state_dict(obj, path.name)


def extract_state_dict(obj: object, where: str) -> dict[str, Tensor]:
    if isinstance(obj, Mapping):
        if obj and all(isinstance(v, Tensor) for v in obj.values()):
            return {str(k): v for k, v in obj.items()}
        for key in _NESTED_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner:
                return extract_state_dict(inner, where)
    raise ValueError(f"{where}: no state_dict of tensors found")


def strip_prefix(state: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """Remove ``prefix`` from every key when all keys carry it (e.g. DataParallel's 'module.')."""
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix) :]: v for k, v in state.items()}
    return dict(state)
