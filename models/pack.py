"""Model packs: a folder (or a .zip of one) holding a model, its labels and how to feed it.

pack.json, format 1::

    {
      "format": 1,
      "name": "daf-vit-b16",                  # folder name once installed: [A-Za-z0-9._-]
      "version": "1.0.0",
      "backend": "torch",                     # torch | onnx | hf
      "architecture": {"name": "vit_b16", "heads": {"character": 3263}, "image_size": 128,
                       "ifa": true, ...},     # torch only: a ModelConfig as a dict
      "input": {"size": 128, "resize": "stretch", "pad_color": [255, 255, 255],
                "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "channel_order": "RGB",
                "layout": "NCHW", "scale": 0.00392156862745098,
                "interpolation": "bilinear"},  # optional: bicubic (default) | bilinear
      "heads": [{"name": "character", "activation": "softmax", "labels": "character.csv"}],
      "metrics": {"top1": 0.9},               # free-form, optional
      "provenance": {"source": "..."},        # free-form, optional
      "multimodal": {...}                     # vilt_* only: see models.multimodal_spec
    }

Model files: ``weights.safetensors`` (torch), ``model.onnx`` (onnx; heads may set
``"output"`` to a graph output name or index, default: the head's position), or
``config.json`` + ``model.safetensors`` (hf: a transformers image classifier). Label tables
are CSVs with the header ``name,category,threshold``; category is one of general, character,
copyright, artist, meta, rating.

Loading validates everything, including the model file against pack.json, and raises
:class:`PackError` naming the file and field at fault.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.config import ModelConfig
from models.errors import PackError
from models.labels import read_labels, write_labels
from models.multimodal_spec import MultimodalSpec
from models.pack_checks import (
    HF_CONFIG,
    HF_WEIGHTS,
    ONNX_MODEL,
    TORCH_WEIGHTS,
    check_hf,
    check_multimodal,
    check_onnx,
    check_torch,
)
from models.safezip import DEFAULT_MAX_BYTES, pack_root, remove_tree, safe_extract
from models.spec import (
    HeadSpec,
    InputSpec,
    parse_head,
    require_choice,
    require_object,
    require_str,
)

if TYPE_CHECKING:
    from torch import Tensor

    from models.base import AnimesionModel
    from models.tag_tokenizer import TagTokenizer

PACK_FORMAT = 1
PACK_JSON = "pack.json"
BACKENDS = ("torch", "onnx", "hf")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HF_OPTIONAL = ("preprocessor_config.json",)
_TOP_FIELDS = (
    "format",
    "name",
    "version",
    "backend",
    "architecture",
    "input",
    "heads",
    "metrics",
    "provenance",
    "multimodal",
)

__all__ = [
    "PackError",
    "ModelPack",
    "HeadSpec",
    "InputSpec",
    "load_pack",
    "write_pack",
    "install_pack",
]


@dataclass(frozen=True)
class ModelPack:
    """A validated pack. ``path`` is its folder, or the .zip it was read from
    (``is_archive``; such a pack is extracted again by ``open_predictor``)."""

    path: Path
    name: str
    version: str
    backend: str
    input: InputSpec
    heads: tuple[HeadSpec, ...]
    architecture: ModelConfig | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    is_archive: bool = False
    multimodal: MultimodalSpec | None = None  # ViLT packs: vocabulary, tag slots, modes

    def file(self, name: str) -> Path:
        if self.is_archive:
            raise PackError(f"{self.path.name}: install the pack before opening its files")
        return self.path / name

    def sha256(self) -> str:
        """Content hash: of the archive file, or of every file of the folder (names included)."""
        digest = hashlib.sha256()
        files = (
            [self.path]
            if self.is_archive
            else sorted(p for p in self.path.rglob("*") if p.is_file())
        )
        for path in files:
            if not self.is_archive:
                digest.update(path.relative_to(self.path).as_posix().encode() + b"\0")
            with path.open("rb") as f:
                while chunk := f.read(1024 * 1024):
                    digest.update(chunk)
        return digest.hexdigest()


WEIGHT_FILES = (TORCH_WEIGHTS, ONNX_MODEL, HF_WEIGHTS)  # the model file, one per backend


def weights_sha256(folder: Path) -> str | None:
    """sha256 of a pack folder's model file (the first of :data:`WEIGHT_FILES` it has), None
    without one: what a library records of an installed pack, and how an identity adapter
    names the pack it was trained for."""
    for name in WEIGHT_FILES:
        path = folder / name
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as f:
                while chunk := f.read(1024 * 1024):
                    digest.update(chunk)
            return digest.hexdigest()
    return None


def safe_pack_name(text: str, fallback: str = "pack") -> str:
    """A valid pack name made from a file or folder name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")[:64]
    return name if NAME_RE.match(name) else fallback


def _read_pack_json(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / PACK_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(f"{PACK_JSON}: file is missing in {folder}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PackError(f"{PACK_JSON}: not valid JSON ({exc})") from None
    return require_object(data, PACK_JSON)


def _load_folder(folder: Path) -> ModelPack:
    data = _read_pack_json(folder)
    where = PACK_JSON + ":"
    for key in data:
        if key not in _TOP_FIELDS:
            raise PackError(f"{where} {key}: unknown field (known: {', '.join(_TOP_FIELDS)})")
    fmt = data.get("format")
    if fmt != PACK_FORMAT:
        raise PackError(f"{where} format: this version reads format {PACK_FORMAT}, got {fmt!r}")
    name = require_str(data, "name", where)
    if not NAME_RE.match(name):
        raise PackError(
            f"{where} name: {name!r} must be 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    version = require_str(data, "version", where)
    backend = require_choice(data, "backend", where, BACKENDS)
    if "input" not in data:
        raise PackError(f"{where} input: missing")
    spec = InputSpec.from_dict(data["input"], f"{where} input")

    raw_heads = data.get("heads")
    if not isinstance(raw_heads, list) or not raw_heads:
        raise PackError(f"{where} heads: expected a non-empty list")
    heads: list[HeadSpec] = []
    for i, raw in enumerate(raw_heads):
        head_name, activation, labels_file, output = parse_head(raw, f"{where} heads[{i}]")
        if head_name in [h.name for h in heads]:
            raise PackError(f"{where} heads[{i}].name: duplicate head {head_name!r}")
        if output is not None and backend != "onnx":
            raise PackError(f"{where} heads[{i}].output: only the onnx backend uses it")
        labels = tuple(read_labels(folder / labels_file))
        heads.append(HeadSpec(head_name, activation, labels, labels_file, output))

    for key in ("metrics", "provenance"):
        if not isinstance(data.get(key, {}), dict):
            raise PackError(f"{where} {key}: expected an object")

    architecture = None
    raw_arch = data.get("architecture")
    if backend == "torch":
        if raw_arch is None:
            raise PackError(f"{where} architecture: missing (required by the torch backend)")
        try:
            architecture = ModelConfig.from_dict(raw_arch)
        except (ValueError, TypeError) as exc:
            raise PackError(f"{where} architecture.{exc}") from None
        architecture = check_torch(folder, architecture, heads)
    else:
        if raw_arch is not None:
            raise PackError(f"{where} architecture: only the torch backend uses it")
        if backend == "onnx":
            check_onnx(folder, spec, heads)
        else:
            check_hf(folder, spec, heads)
    multimodal = check_multimodal(folder, data.get("multimodal"), backend, architecture)
    return ModelPack(
        path=folder,
        name=name,
        version=version,
        backend=backend,
        input=spec,
        heads=tuple(heads),
        architecture=architecture,
        metrics=dict(data.get("metrics", {})),
        provenance=dict(data.get("provenance", {})),
        multimodal=multimodal,
    )


def load_pack(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ModelPack:
    """Read and validate a pack folder or .zip (a zip is extracted to a temporary folder)."""
    path = Path(path)
    if path.is_dir():
        return _load_folder(path)
    if path.is_file():
        with tempfile.TemporaryDirectory(prefix="animesion-pack-") as tmp:
            safe_extract(path, Path(tmp), max_bytes=max_bytes)
            pack = _load_folder(pack_root(Path(tmp)))
        return dataclasses.replace(pack, path=path, is_archive=True)
    raise PackError(f"{path}: no such pack folder or archive")


def write_pack(
    out_dir: str | Path,
    *,
    name: str,
    backend: str,
    heads: Sequence[HeadSpec],
    input_spec: InputSpec,
    version: str = "1.0.0",
    model: AnimesionModel | None = None,
    state_dict: Mapping[str, Tensor] | None = None,
    architecture: ModelConfig | Mapping[str, Any] | None = None,
    onnx_model: str | Path | bytes | None = None,
    hf_dir: str | Path | None = None,
    metrics: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    multimodal: tuple[MultimodalSpec, TagTokenizer] | None = None,
) -> ModelPack:
    """Write a pack folder at ``out_dir`` (new or empty) and return it validated.

    torch: pass ``model`` (its config and state_dict are used), or ``state_dict`` plus
    ``architecture``. onnx: ``onnx_model`` (a path or the serialized bytes). hf: ``hf_dir``, a
    folder with config.json and model.safetensors. Head labels go to ``<head>.csv`` unless the
    HeadSpec names a ``labels_file``. ``multimodal`` (ViLT packs) is the spec and the tokenizer
    whose vocabulary is written to the spec's file. On a validation error the folder is removed
    again.
    """
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PackError(f"{out}: exists and is not an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    try:
        heads = [
            dataclasses.replace(h, labels_file=h.labels_file or f"{h.name}.csv") for h in heads
        ]
        doc: dict[str, Any] = {
            "format": PACK_FORMAT,
            "name": name,
            "version": version,
            "backend": backend,
        }
        if backend == "torch":
            doc["architecture"] = _write_torch_weights(out, model, state_dict, architecture)
        elif backend == "onnx":
            _write_onnx(out, onnx_model)
        elif backend == "hf":
            _copy_hf(out, hf_dir)
        else:
            raise PackError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
        doc["input"] = input_spec.to_dict()
        doc["heads"] = [h.to_dict() for h in heads]
        doc["metrics"] = dict(metrics or {})
        doc["provenance"] = dict(provenance or {})
        if multimodal is not None:
            mm_spec, tokenizer = multimodal
            doc["multimodal"] = mm_spec.to_dict()
            tokenizer.write_csv(out / mm_spec.vocabulary)
        for head in heads:
            write_labels(out / head.labels_file, head.labels)
        (out / PACK_JSON).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return load_pack(out)
    except BaseException:
        remove_tree(out)
        raise


def _write_torch_weights(
    out: Path,
    model: AnimesionModel | None,
    state_dict: Mapping[str, Tensor] | None,
    architecture: ModelConfig | Mapping[str, Any] | None,
) -> dict[str, Any]:
    from safetensors.torch import save_file

    if model is not None:
        state_dict, architecture = model.state_dict(), model.config
    if state_dict is None or architecture is None:
        raise PackError(
            "write_pack: the torch backend needs model=, or state_dict= and architecture="
        )
    config = (
        architecture
        if isinstance(architecture, ModelConfig)
        else ModelConfig.from_dict(dict(architecture))
    )
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    save_file(tensors, str(out / TORCH_WEIGHTS), metadata={"format": "pt"})
    # safetensors writes through a private temp file (mode 0600); a pack is meant to be shared.
    (out / TORCH_WEIGHTS).chmod(0o644)
    return config.to_dict()


def _write_onnx(out: Path, onnx_model: str | Path | bytes | None) -> None:
    if onnx_model is None:
        raise PackError("write_pack: the onnx backend needs onnx_model=")
    if isinstance(onnx_model, bytes):
        (out / ONNX_MODEL).write_bytes(onnx_model)
    else:
        shutil.copyfile(onnx_model, out / ONNX_MODEL)


def _copy_hf(out: Path, hf_dir: str | Path | None) -> None:
    if hf_dir is None:
        raise PackError("write_pack: the hf backend needs hf_dir=")
    src = Path(hf_dir)
    for name in (HF_CONFIG, HF_WEIGHTS):
        if not (src / name).is_file():
            raise PackError(f"{name}: file is missing in {src}")
        shutil.copyfile(src / name, out / name)
    for name in HF_OPTIONAL:
        if (src / name).is_file():
            shutil.copyfile(src / name, out / name)


def install_pack(
    src: str | Path,
    packs_dir: str | Path,
    *,
    replace: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Path:
    """Validate ``src`` (folder or .zip) and install it as ``packs_dir/<name>``; returns that path.

    The pack is staged in a hidden folder inside ``packs_dir`` and validated there, then moved
    into place, so a failed install leaves nothing behind. An installed pack of the same name
    is only replaced with ``replace=True``.
    """
    src, packs = Path(src), Path(packs_dir)
    packs.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=packs))
    try:
        if src.is_dir():
            _copy_folder(src, staging)
            root = staging
        elif src.is_file():
            safe_extract(src, staging, max_bytes=max_bytes)
            root = pack_root(staging)
        else:
            raise PackError(f"{src}: no such pack folder or archive")
        pack = _load_folder(root)
        dest = packs / pack.name
        if dest.exists():
            if not replace:
                raise PackError(
                    f"{pack.name}: a pack of this name is already installed at {dest} "
                    "(pass replace=True to overwrite it)"
                )
            old = Path(tempfile.mkdtemp(prefix=".replaced-", dir=packs))
            os.replace(dest, old / pack.name)
            os.replace(root, dest)
            remove_tree(old)
        else:
            os.replace(root, dest)
        return dest
    finally:
        remove_tree(staging)


def _copy_folder(src: Path, dest: Path) -> None:
    """Copy a pack folder, refusing symlinks (they could point anywhere on the disk)."""
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if path.is_symlink():
            raise PackError(f"{rel.as_posix()}: symbolic links are not allowed in a pack")
        if path.is_dir():
            (dest / rel).mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest / rel)
