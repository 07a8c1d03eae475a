"""The identity adapter: a small residual map that turns a pack's embedding into one for *who*.

Generic features (ImageNet, or a pack trained on other characters) place two pictures of one
character close when they share pose, framing or background, not because they show the same
person. The adapter is trained by metric learning on the characters the user has already
labelled (training/metric.py) and applied to the stored embeddings of every image, including
characters it never saw, before the few-shot prototypes are built:

    x  = unit(e)                      e: [N, D] the pack's embedding (what the library stores)
    h  = relu(x @ U + b)              [N, H]
    z  = unit(x + h @ V)              [N, D]

``V`` starts at zero, so an untrained adapter is the identity, and weight decay keeps it near
that: what the ImageNet (or pack) features know about characters not in the training set is
kept, and the adapter only adds the directions that separate identities under augmentation.

The artifact is one safetensors file (tensors ``U``, ``b``, ``V``; string metadata naming the
features it expects). Applying it needs only numpy: the app never runs torch for it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "animesion-identity-adapter"
FORMAT_VERSION = 1
FILE_NAME = "identity.safetensors"  # its place inside a pack folder (the pack it adapts)


class IdentityFileError(ValueError):
    """An identity artifact that cannot be used (the message names the file and the field)."""


@dataclass(frozen=True)
class IdentityInfo:
    """What an adapter was trained on and for; stored as the file's metadata."""

    input_dim: int
    hidden: int
    features: str  # "pack" (a pack's stored embedding) or "imagenet:<model>" (benchmarks)
    pack_name: str | None = None
    pack_sha256: str | None = None  # sha256 of the pack's weights file it was trained with
    classes: int = 0
    images: int = 0
    training: dict[str, Any] = field(default_factory=dict)

    def to_metadata(self) -> dict[str, str]:
        return {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                "info": json.dumps(asdict(self), sort_keys=True)}


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


@dataclass(frozen=True)
class IdentityAdapter:
    """The trained map, as numpy arrays: ``adapter(vectors)`` gives unit [N, D] vectors."""

    info: IdentityInfo
    U: np.ndarray  # [D, H]
    b: np.ndarray  # [H]
    V: np.ndarray  # [H, D]

    def __post_init__(self) -> None:
        d, h = self.info.input_dim, self.info.hidden
        for name, arr, shape in (("U", self.U, (d, h)), ("b", self.b, (h,)),
                                 ("V", self.V, (h, d))):
            if tuple(arr.shape) != shape:
                raise IdentityFileError(f"tensor {name} has shape {tuple(arr.shape)}, "
                                        f"expected {shape}")

    @property
    def dim(self) -> int:
        return self.info.input_dim

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        x = _unit(vectors)
        if x.shape[-1] != self.dim:
            raise IdentityFileError(f"the adapter takes {self.dim}-d embeddings, "
                                    f"got {x.shape[-1]}-d")
        out = []
        for start in range(0, len(x), 8192):  # bounded memory on a large library
            chunk = x[start : start + 8192]
            hidden = np.maximum(chunk @ self.U + self.b, 0.0)
            out.append(_unit(chunk + hidden @ self.V))
        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    def save(self, path: Path) -> None:
        from safetensors.numpy import save_file

        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {k: np.ascontiguousarray(v, dtype=np.float32)
                   for k, v in (("U", self.U), ("b", self.b), ("V", self.V))}
        tmp = path.with_name(path.name + ".tmp")
        save_file(tensors, str(tmp), metadata=self.info.to_metadata())
        tmp.replace(path)  # a crash mid-write never leaves half an adapter behind


def load_adapter(path: Path) -> IdentityAdapter:
    """Read an adapter file, or raise IdentityFileError naming the file and what is wrong."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open API)
    except Exception as exc:  # OSError, or safetensors' own SafetensorError on a bad header
        raise IdentityFileError(f"{path}: not a readable safetensors file ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise IdentityFileError(f"{path}: metadata field 'format' is {meta.get('format')!r}, "
                                f"expected {FORMAT!r}")
    if meta.get("format_version") != str(FORMAT_VERSION):
        raise IdentityFileError(f"{path}: metadata field 'format_version' is "
                                f"{meta.get('format_version')!r}, expected {FORMAT_VERSION}")
    try:
        raw = json.loads(meta["info"])
        info = IdentityInfo(**raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise IdentityFileError(f"{path}: metadata field 'info' is not valid ({exc})") from exc
    missing = [k for k in ("U", "b", "V") if k not in tensors]
    if missing:
        raise IdentityFileError(f"{path}: missing tensors {', '.join(missing)}")
    try:
        return IdentityAdapter(info, tensors["U"].astype(np.float32),
                               tensors["b"].astype(np.float32), tensors["V"].astype(np.float32))
    except IdentityFileError as exc:
        raise IdentityFileError(f"{path}: {exc}") from exc
