"""Importing the original Animesion ViLT checkpoints (a ViT with tag tokens) with DAF:re's vocab.

Beside the ViT keys the plain importer knows (``model.patch_embedding``, ``model.class_token``,
``model.positional_embedding.pos_embedding``, ``model.transformer.blocks.N.*``, ``model.norm``)
the wrapper of the original project saves:

* ``model.text_embeddings.word_embeddings.weight`` [V, D], the tag embeddings, with
  ``model.text_embeddings.position_embeddings.weight`` [T, D] and the token type embeddings
  ``model.text_embeddings.token_type_embeddings.weight`` [2, D] (also accepted as
  ``model.token_type_embeddings.weight``);
* ``mlm_head.0`` (Linear D->D) and ``mlm_head.2`` (LayerNorm), ``text_decoder.weight`` (the
  tied copy of the word embeddings, checked equal and dropped) and ``decoder_bias`` [V];
* ``class_head.0`` (LayerNorm) and ``class_head.1`` (Linear), or with IFA
  ``inter_class_head.{0,3,4}``.

The original vocabulary orders its ids ``[PAD] [CLS] [SEP] [UNK]`` then the tags (and may have
no ``[MASK]``); rows are reordered to our tokenizer's ids, and a missing ``[MASK]`` row starts
at zero.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import Tensor

from models.config import ModelConfig
from models.errors import PackError
from models.heads import default_activation
from models.importers.animesion import (
    CHARACTER_THRESHOLD,
    _convert,
    _names,
    _vit_config,
    original_input_spec,
    read_classid_classname,
)
from models.importers.animesion import _map_vit as map_vit_keys
from models.importers.vocab_file import read_vocab
from models.labels import Label
from models.multimodal_spec import MODES, MultimodalSpec
from models.pack import ModelPack, safe_pack_name, write_pack
from models.spec import HeadSpec
from models.tag_tokenizer import MASK_ID, SPECIAL_TOKENS, TagTokenizer

WORDS = "text_embeddings.word_embeddings.weight"
TEXT_POSITIONS = "text_embeddings.position_embeddings.weight"
TOKEN_TYPES = ("text_embeddings.token_type_embeddings.weight", "token_type_embeddings.weight")
DECODER = "text_decoder.weight"
VOCAB_NAMES = ("vocab.pkl", "vocab.csv")
_VILT_TOP = {
    TEXT_POSITIONS: "tag_positions",
    "mlm_head.0.weight": "mlm.transform.0.weight",
    "mlm_head.0.bias": "mlm.transform.0.bias",
    "mlm_head.2.weight": "mlm.transform.2.weight",
    "mlm_head.2.bias": "mlm.transform.2.bias",
    "class_head.0.weight": "head_norm.weight",
    "class_head.0.bias": "head_norm.bias",
    "class_head.1.weight": "head.heads.character.weight",
    "class_head.1.bias": "head.heads.character.bias",
}


def is_vilt_state(state: dict[str, Tensor]) -> bool:
    """A de-prefixed original state_dict with tag tokens (the ViLT variant)."""
    return WORDS in state


def _tokenizer_and_rows(
    word2idx: dict[str, int], rows: int, where: str
) -> tuple[TagTokenizer, list[int]]:
    """Our tokenizer and, per our id, the original row (-1: no row, starts at zero)."""
    for special in ("[PAD]", "[CLS]", "[SEP]", "[UNK]"):
        if special not in word2idx:
            raise PackError(f"{where}: the vocabulary has no {special} token")
    too_big = [t for t, i in word2idx.items() if i >= rows]
    if too_big:
        raise PackError(
            f"{where}: ids of {_names(too_big, 3)} are beyond the checkpoint's {rows} tag embeddings"
        )
    ordered = sorted(word2idx, key=word2idx.__getitem__)
    tokenizer = TagTokenizer(t for t in ordered if t not in SPECIAL_TOKENS)
    source = [word2idx.get(t, -1) for t in tokenizer.tokens]
    if source[MASK_ID] == -1 and rows == len(word2idx) + 1:
        source[MASK_ID] = rows - 1  # the one row past the vocabulary is the mask token's
    return tokenizer, source


def _reorder(t: Tensor, source: list[int]) -> Tensor:
    out = torch.zeros((len(source), *t.shape[1:]), dtype=t.dtype)
    for ours, theirs in enumerate(source):
        if theirs >= 0:
            out[ours] = t[theirs]
    return out


def import_animesion_vilt(
    state: dict[str, Tensor],
    as_saved: dict[str, str],
    checkpoint: Path,
    out_dir: str | Path,
    *,
    classes_csv: Path,
    vocab: Path | None,
    name: str | None = None,
    num_attention_heads: int | None = None,
) -> ModelPack:
    """``state`` is the checkpoint with ``module.``/``model.`` removed (``as_saved`` maps back);
    ``vocab`` defaults to a vocab.pkl or vocab.csv next to the checkpoint."""
    words = state[WORDS]
    if TEXT_POSITIONS not in state:
        raise PackError(f"model.{TEXT_POSITIONS}: missing (the tag slots' position embeddings)")
    types_key = next((k for k in TOKEN_TYPES if k in state), None)
    if types_key is None:
        raise PackError(f"model.{TOKEN_TYPES[0]}: missing (the token type embeddings)")
    decoder = state.get(DECODER)
    if decoder is not None and not torch.equal(decoder, words):
        raise PackError(f"{DECODER}: differs from model.{WORDS} (the decoder must be tied)")
    if "decoder_bias" not in state:
        raise PackError("decoder_bias: missing (the MLM head's output bias)")
    image = {k: v for k, v in state.items() if not _is_text_key(k)}
    if "inter_class_head.0.weight" not in image and "class_head.1.weight" in state:
        image["fc.weight"] = state["class_head.1.weight"]  # lets _vit_config read the classes
    base = _vit_config(image, num_attention_heads)
    vocab = vocab or find_vocab(checkpoint)  # after the checks that need no vocabulary
    tokenizer, source = _tokenizer_and_rows(read_vocab(vocab), words.shape[0], vocab.name)
    config = ModelConfig(
        **{
            **base.to_dict(),
            "name": base.name.replace("vit_", "vilt_", 1),
            "vocab_size": len(tokenizer),
            "max_text_seq_len": state[TEXT_POSITIONS].shape[0],
        }
    )
    converted = dict(state)
    converted.pop(DECODER, None)
    converted[WORDS] = _reorder(words, source)
    converted["decoder_bias"] = _reorder(state["decoder_bias"], source)
    converted[TEXT_POSITIONS] = state[TEXT_POSITIONS][None]  # [T, D] -> [1, T, D]
    names = {k: v for k, v in map_vit_keys(converted).items() if not k.startswith("fc.")}
    for key in converted:
        if key in _VILT_TOP:
            names[key] = _VILT_TOP[key]
    names[WORDS] = "tag_embeddings.weight"
    names[types_key] = "token_types.weight"
    names["decoder_bias"] = "mlm.bias"
    saved = {k: as_saved.get(k, k) for k in converted}
    tensors = _convert(config, converted, names, "vilt", saved)

    classes = read_classid_classname(classes_csv)
    if len(classes) != config.heads["character"]:
        raise PackError(
            f"{classes_csv.name}: {len(classes)} classes, but the checkpoint's classifier has "
            f"{config.heads['character']} outputs"
        )
    labels = tuple(Label(c, "character", CHARACTER_THRESHOLD) for c in classes)
    assert config.max_text_seq_len
    spec = MultimodalSpec(max_text_seq_len=config.max_text_seq_len, modes=MODES)
    return write_pack(
        out_dir,
        name=name or safe_pack_name(checkpoint.stem, "animesion-vilt"),
        backend="torch",
        heads=[HeadSpec("character", default_activation("character"), labels)],
        input_spec=original_input_spec(config.image_size),
        state_dict=tensors,
        architecture=config,
        multimodal=(spec, tokenizer),
        provenance={
            "importer": "animesion",
            "checkpoint": checkpoint.name,
            "checkpoint_sha256": hashlib.sha256(checkpoint.read_bytes()).hexdigest(),
            "family": "vilt",
            "vocabulary": vocab.name,
            "mask_token_row": "imported"
            if source[MASK_ID] >= 0
            else "zero (not in the vocabulary)",
        },
    )


def _is_text_key(key: str) -> bool:
    return key.startswith(("text_embeddings.", "mlm_head.", "class_head.")) or key in (
        DECODER,
        "decoder_bias",
        "token_type_embeddings.weight",
    )


def find_vocab(checkpoint: Path) -> Path:
    for folder in (checkpoint.parent, checkpoint.parent / "labels"):
        for name in VOCAB_NAMES:
            if (folder / name).is_file():
                return folder / name
    raise PackError(f"vocab.pkl: not found next to {checkpoint.name}; pass vocab=")
