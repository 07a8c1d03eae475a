"""Importing checkpoints of the original Animesion project (github.com/arkel23/animesion).

Those are ``torch.save(model.state_dict())`` files of its wrapper modules:

* ViT (from PyTorch-Pretrained-ViT): ``model.patch_embedding``, ``model.class_token``,
  ``model.positional_embedding.pos_embedding``, ``model.transformer.blocks.N.{attn.proj_q|k|v,
  proj, norm1, norm2, pwff.fc1, pwff.fc2}``, ``model.norm`` and ``model.fc``; with the IFA head
  ``model.fc`` is absent and ``inter_class_head.{0: Linear(L, 1), 3: LayerNorm, 4: Linear}``
  holds the head.
* ResNet-18/50/152: torchvision's keys under ``model.`` (``model.fc`` is the classifier).
* ShallowNet: ``layer1.*``, ``layer2.*``, ``fc.1`` (hidden) and ``fc.4`` (classifier).
* EfficientNet-B0 (efficientnet_pytorch): ``_conv_stem``, ``_bn0``, ``_blocks.N.*``,
  ``_conv_head``, ``_bn1`` and the classifier ``_fc``; rebuilt as ``efficientnet_b0_tf``,
  which has the same layout and TensorFlow "same" padding.

The class names come from ``classid_classname.csv`` (rows ``class_id,class_name``, no header).
Every model is fed as the original fed it: a bilinear resize to a square, mean = std = 0.5.
The architecture is inferred from tensor shapes; every tensor must be used and every weight
of our model supplied, otherwise the import fails naming the keys.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import torch
from torch import Tensor

from models.architectures.shallow import flat_side
from models.config import ModelConfig
from models.errors import PackError
from models.heads import default_activation
from models.labels import Label
from models.pack import ModelPack, safe_pack_name, write_pack
from models.registry import build_model
from models.spec import HeadSpec, InputSpec
from models.weights import load_state_dict_file, strip_prefix

CLASSES_CSV = "classid_classname.csv"
# Animesion's ViT config (transformers' ViTConfig defaults) used layer_norm_eps=1e-12.
ANIMESION_VIT_EPS = 1e-12
CHARACTER_THRESHOLD = 0.5
_BLOCK = re.compile(r"^transformer\.blocks\.(\d+)\.(.+)$")
_BLOCK_MAP = {
    "attn.proj_q.": "attention.attention.query.",
    "attn.proj_k.": "attention.attention.key.",
    "attn.proj_v.": "attention.attention.value.",
    "proj.": "attention.output.dense.",
    "norm1.": "layernorm_before.",
    "norm2.": "layernorm_after.",
    "pwff.fc1.": "intermediate.dense.",
    "pwff.fc2.": "output.dense.",
}
_VIT_TOP = {
    "patch_embedding.weight": "backbone.embeddings.patch_embeddings.projection.weight",
    "patch_embedding.bias": "backbone.embeddings.patch_embeddings.projection.bias",
    "class_token": "backbone.embeddings.cls_token",
    "positional_embedding.pos_embedding": "backbone.embeddings.position_embeddings",
    "norm.weight": "backbone.layernorm.weight",
    "norm.bias": "backbone.layernorm.bias",
    "fc.weight": "head.heads.character.weight",
    "fc.bias": "head.heads.character.bias",
    "inter_class_head.3.weight": "ifa.norm.weight",
    "inter_class_head.3.bias": "ifa.norm.bias",
    "inter_class_head.4.weight": "head.heads.character.weight",
    "inter_class_head.4.bias": "head.heads.character.bias",
}
_RESNET_DEPTHS = {2: "resnet18", 6: "resnet50", 36: "resnet152"}  # blocks in layer3


def _names(keys: list[str], limit: int = 8) -> str:
    keys = sorted(keys)
    return ", ".join(keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def read_classid_classname(path: Path) -> list[str]:
    """Class names in id order from ``class_id,class_name`` rows (a header row is skipped)."""
    where = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PackError(f"{where}: file is missing") from None
    by_id: dict[int, str] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2:
            raise PackError(f"{where}: line {number}: expected class_id,class_name")
        try:
            class_id = int(row[0])
        except ValueError:
            if number == 1:
                continue  # a header such as "class_id,class_name"
            raise PackError(
                f"{where}: line {number}: class_id {row[0]!r} is not an integer"
            ) from None
        if class_id in by_id:
            raise PackError(f"{where}: line {number}: class_id {class_id} appears twice")
        by_id[class_id] = ",".join(row[1:]).strip()
    if sorted(by_id) != list(range(len(by_id))) or not by_id:
        raise PackError(f"{where}: class ids must be 0..N-1 without gaps")
    return [by_id[i] for i in range(len(by_id))]


def _vit_config(state: dict[str, Tensor], num_attention_heads: int | None) -> ModelConfig:
    patch = state["patch_embedding.weight"]  # [D, 3, P, P]
    hidden, channels, patch_size = patch.shape[0], patch.shape[1], patch.shape[2]
    if channels != 3:
        raise PackError(f"patch_embedding.weight: {channels} input channels, expected 3")
    depth = 1 + max(int(m.group(1)) for k in state if (m := _BLOCK.match(k)))
    mlp = state["transformer.blocks.0.pwff.fc1.weight"].shape[0]
    pos = state.get("positional_embedding.pos_embedding")
    if pos is None:
        raise PackError("positional_embedding.pos_embedding: missing")
    tokens = pos.shape[1] - 1  # [1, 1 + g*g, D]
    grid = int(round(tokens**0.5))
    if grid * grid != tokens:
        raise PackError(
            f"positional_embedding.pos_embedding: {tokens} patch positions are not a square grid "
            "(a ViLT checkpoint keeps its tag positions in model.text_embeddings)"
        )
    heads = num_attention_heads or (hidden // 64 if hidden % 64 == 0 else None)
    if heads is None:
        raise PackError(f"hidden size {hidden}: pass num_attention_heads (not inferable)")
    ifa = "inter_class_head.0.weight" in state
    fc = state.get("inter_class_head.4.weight" if ifa else "fc.weight")
    if fc is None:
        raise PackError(
            f"{'inter_class_head.4.weight' if ifa else 'fc.weight'}: missing "
            "(no classifier in the checkpoint)"
        )
    family = "vit_l" if hidden >= 1024 else "vit_b"
    return ModelConfig(
        name=f"{family}{32 if patch_size == 32 else 16}",
        heads={"character": fc.shape[0]},
        image_size=grid * patch_size,
        ifa=ifa,
        hidden_size=hidden,
        num_layers=depth,
        num_attention_heads=heads,
        mlp_dim=mlp,
        patch_size=patch_size,
        layer_norm_eps=ANIMESION_VIT_EPS,
    )


def _map_vit(state: dict[str, Tensor]) -> dict[str, str]:
    """Original key -> our key, for every key this mapping knows."""
    out: dict[str, str] = {}
    for key in state:
        if key in _VIT_TOP:
            out[key] = _VIT_TOP[key]
        elif key == "inter_class_head.0.weight":
            out[key] = "ifa.layer_weights"
        elif key == "inter_class_head.0.bias":
            out[key] = "ifa.bias"
        elif m := _BLOCK.match(key):
            rest = m.group(2)
            for old, new in _BLOCK_MAP.items():
                if rest.startswith(old):
                    out[key] = f"backbone.encoder.layer.{m.group(1)}.{new}{rest[len(old) :]}"
                    break
    return out


def _map_resnet(state: dict[str, Tensor]) -> dict[str, str]:
    return {
        k: ("head.heads.character." + k[3:]) if k.startswith("fc.") else "backbone." + k
        for k in state
    }


def _map_shallow(state: dict[str, Tensor]) -> dict[str, str]:
    renames = {"fc.1.": "fc1.", "fc.4.": "head.heads.character."}
    out = {}
    for key in state:
        new_key = key
        for old, new in renames.items():
            if key.startswith(old):
                new_key = new + key[len(old) :]
                break
        out[key] = new_key
    return out


def _map_efficientnet(state: dict[str, Tensor]) -> dict[str, str]:
    return {
        k: ("head.heads.character." + k[4:]) if k.startswith("_fc.") else "backbone." + k
        for k in state
    }


def _detect(
    state: dict[str, Tensor], image_size: int | None, num_attention_heads: int | None
) -> tuple[ModelConfig, dict[str, str], str]:
    """(config, original key -> our key, family) for a de-prefixed original state_dict."""
    if "patch_embedding.weight" in state:
        config = _vit_config(state, num_attention_heads)
        if image_size is not None and image_size != config.image_size:
            raise PackError(
                f"image_size {image_size}: the position embeddings were trained for "
                f"{config.image_size} px"
            )
        return config, _map_vit(state), "vit"
    if "conv1.weight" in state and "layer3.0.conv1.weight" in state:
        blocks = {int(k.split(".")[1]) for k in state if k.startswith("layer3.")}
        name = _RESNET_DEPTHS.get(len(blocks))
        if name is None:
            raise PackError(
                f"a ResNet with {len(blocks)} blocks in layer3 is not supported "
                "(supported: 18, 50, 152)"
            )
        classes = state["fc.weight"].shape[0] if "fc.weight" in state else 0
        if not classes:
            raise PackError("fc.weight: missing (no classifier in the checkpoint)")
        config = ModelConfig(name=name, heads={"character": classes}, image_size=image_size or 224)
        return config, _map_resnet(state), "resnet"
    if "layer1.0.weight" in state and "fc.1.weight" in state:
        flat = state["fc.1.weight"].shape[1]  # 32 * side * side
        side = int(round((flat / 32) ** 0.5))
        size = 4 * side + 12  # inverse of flat_side(): two (conv5, maxpool2) blocks
        if 32 * side * side != flat or flat_side(size) != side:
            raise PackError(f"fc.1.weight: {flat} inputs do not match any image size")
        if "fc.4.weight" not in state:
            raise PackError("fc.4.weight: missing (no classifier in the checkpoint)")
        config = ModelConfig(
            name="shallow", heads={"character": state["fc.4.weight"].shape[0]}, image_size=size
        )
        return config, _map_shallow(state), "shallow"
    if "_conv_stem.weight" in state:
        if "_fc.weight" not in state:
            raise PackError("_fc.weight: missing (no classifier in the checkpoint)")
        if "_blocks.0._se_reduce.weight" not in state:
            raise PackError(
                "an EfficientNet without squeeze-excitation (_se_reduce) is not the original "
                "project's EfficientNet-B0"
            )
        config = ModelConfig(
            name="efficientnet_b0_tf", heads={"character": state["_fc.weight"].shape[0]},
            image_size=image_size or 224,
        )
        return config, _map_efficientnet(state), "efficientnet"
    raise PackError(f"not an Animesion checkpoint; its keys start with: {_names(list(state), 5)}")


def _convert(
    config: ModelConfig,
    state: dict[str, Tensor],
    names: dict[str, str],
    family: str,
    as_saved: dict[str, str],
) -> dict[str, Tensor]:
    """Our state_dict from the original one; every tensor must be used, every weight supplied."""
    with torch.device("meta"):
        model = build_model(config)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    unexpected = [as_saved[k] for k in state if names.get(k) not in expected]
    if unexpected:
        raise PackError(
            f"checkpoint has tensors the {family} architecture does not use: {_names(unexpected)}"
        )
    # reshape: IFA's Linear(L, 1).weight [1, L] -> our layer_weights [L]; a no-op elsewhere
    tensors = {
        names[k]: t.reshape(expected[names[k]]) if t.numel() == _numel(expected[names[k]]) else t
        for k, t in state.items()
    }
    missing = set(expected) - set(tensors)
    if (
        family == "vit"
        and config.ifa
        and missing
        == {
            "backbone.layernorm.weight",
            "backbone.layernorm.bias",
        }
    ):
        # The IFA head never reads the final norm; a checkpoint without it loses nothing.
        tensors["backbone.layernorm.weight"] = torch.ones(expected["backbone.layernorm.weight"])
        tensors["backbone.layernorm.bias"] = torch.zeros(expected["backbone.layernorm.bias"])
        missing = set()
    if missing:
        wanted = [_original_key(k, config, family) for k in missing]
        raise PackError(f"checkpoint is missing tensors: {_names(wanted)}")
    original = {v: as_saved[k] for k, v in names.items()}
    for key, shape in expected.items():
        if tuple(tensors[key].shape) != shape:
            raise PackError(
                f"{original.get(key, key)}: shape {list(tensors[key].shape)}, "
                f"expected {list(shape)}"
            )
    return {k: tensors[k] for k in expected}


def _original_key(key: str, config: ModelConfig, family: str) -> str:
    """The name one of our keys has in an original checkpoint (for error messages)."""
    if family == "shallow":
        for old, new in (("fc.1.", "fc1."), ("fc.4.", "head.heads.character.")):
            if key.startswith(new):
                return old + key[len(new) :]
        return key
    if family in ("resnet", "efficientnet"):
        fc = "model.fc." if family == "resnet" else "model._fc."
        if key.startswith("head.heads.character."):
            return fc + key.rsplit(".", 1)[1]
        return "model." + key.removeprefix("backbone.")
    if key.startswith("head.heads.character."):
        head = "inter_class_head.4." if config.ifa else "model.fc."
        return head + key.rsplit(".", 1)[1]
    if key.startswith("ifa."):
        return {
            "ifa.layer_weights": "inter_class_head.0.weight",
            "ifa.bias": "inter_class_head.0.bias",
        }.get(key, key.replace("ifa.norm.", "inter_class_head.3."))
    inverse = {v: k for k, v in _VIT_TOP.items()}
    if key in inverse:
        return "model." + inverse[key]
    m = re.match(r"^backbone\.encoder\.layer\.(\d+)\.(.+)$", key)
    if m:
        for old, new in _BLOCK_MAP.items():
            if m.group(2).startswith(new):
                return f"model.transformer.blocks.{m.group(1)}.{old}{m.group(2)[len(new) :]}"
    return key


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def original_input_spec(size: int) -> InputSpec:
    """What the original feeds every model (utilities/data_selection.py and inference.py):
    ``Resize((S, S))`` with torchvision's default bilinear filter, then ``Normalize(0.5, 0.5)``,
    for the ViTs and the ImageNet CNNs alike."""
    return InputSpec(size=size, resize="stretch", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
                     interpolation="bilinear")


def _find_classes_csv(checkpoint: Path) -> Path:
    for candidate in (checkpoint.parent / CLASSES_CSV, checkpoint.parent / "labels" / CLASSES_CSV):
        if candidate.is_file():
            return candidate
    raise PackError(f"{CLASSES_CSV}: not found next to {checkpoint.name}; pass classes_csv=")


def import_animesion_checkpoint(
    checkpoint: str | Path,
    out_dir: str | Path,
    *,
    classes_csv: str | Path | None = None,
    name: str | None = None,
    image_size: int | None = None,
    num_attention_heads: int | None = None,
    vocab: str | Path | None = None,
) -> ModelPack:
    """Convert an Animesion .ckpt/.pth into a torch pack folder at ``out_dir``.

    A ViLT checkpoint (tag embeddings beside the ViT) also needs DAF:re's ``vocab.pkl`` or its
    ``vocab.csv`` export (``vocab``, else found next to the checkpoint); see
    :mod:`models.importers.animesion_vilt`.

    ``image_size`` is only needed for ResNets and EfficientNets (default 224; a ViT's comes from its position
    embeddings); ``num_attention_heads`` only when the hidden size is not a multiple of 64.
    """
    checkpoint = Path(checkpoint)
    try:
        raw = load_state_dict_file(checkpoint)
    except ValueError as exc:
        raise PackError(str(exc)) from None
    # DataParallel adds 'module.'; the wrappers keep the backbone under 'model.'.
    raw = strip_prefix(raw, "module.")
    as_saved = {k.removeprefix("model."): k for k in raw}  # for error messages
    state = {k.removeprefix("model."): v for k, v in raw.items()}
    from models.importers import animesion_vilt  # imports this module: so imported late

    if animesion_vilt.is_vilt_state(state):
        return animesion_vilt.import_animesion_vilt(
            state,
            as_saved,
            checkpoint,
            out_dir,
            classes_csv=Path(classes_csv) if classes_csv else _find_classes_csv(checkpoint),
            vocab=Path(vocab) if vocab else None,
            name=name,
            num_attention_heads=num_attention_heads,
        )
    config, names, family = _detect(state, image_size, num_attention_heads)
    tensors = _convert(config, state, names, family, as_saved)

    classes = read_classid_classname(
        Path(classes_csv) if classes_csv else _find_classes_csv(checkpoint)
    )
    if len(classes) != config.heads["character"]:
        raise PackError(
            f"{CLASSES_CSV}: {len(classes)} classes, but the checkpoint's classifier has "
            f"{config.heads['character']} outputs"
        )
    labels = tuple(Label(c, "character", CHARACTER_THRESHOLD) for c in classes)
    spec = original_input_spec(config.image_size)
    sha = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    return write_pack(
        out_dir,
        name=name or safe_pack_name(checkpoint.stem, "animesion"),
        backend="torch",
        heads=[HeadSpec("character", default_activation("character"), labels)],
        input_spec=spec,
        state_dict=tensors,
        architecture=config,
        provenance={
            "importer": "animesion",
            "checkpoint": checkpoint.name,
            "checkpoint_sha256": sha,
            "family": family,
        },
    )
