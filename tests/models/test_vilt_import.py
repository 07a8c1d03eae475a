"""Original Animesion ViLT checkpoints + DAF:re's vocab.pkl (restricted unpickler) or its CSV."""

from __future__ import annotations

import os
import pickle
import sys
import types

import pytest
import torch
from animesion_original_kit import original_blocks

from models.architectures.vilt import ViLT
from models.errors import PackError
from models.importers import import_animesion_checkpoint
from models.importers.vocab_file import read_vocab_csv, read_vocab_pickle
from models.pack import load_pack
from models.registry import build_model
from models.tag_tokenizer import MASK_ID, TagTokenizer
from models.weights import load_state_dict_file

D, L, MLP, P, SIZE, CLASSES, T = 64, 2, 128, 8, 32, 3, 6
# The original's id order: [PAD] [CLS] [SEP] [UNK], then the tags as first seen.
ORIGINAL_VOCAB = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "smile", "hat", "red_hair"]


def original_vilt_state(ifa: bool = False, extra_mask_row: bool = True) -> dict[str, torch.Tensor]:
    """Random tensors under the key names of Animesion's ViLT wrapper (see the importer)."""
    g = torch.Generator().manual_seed(1)

    def rnd(*shape: int, scale: float = 0.05) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * scale

    grid, v = SIZE // P, len(ORIGINAL_VOCAB) + int(extra_mask_row)
    sd = {
        "model.patch_embedding.weight": rnd(D, 3, P, P),
        "model.patch_embedding.bias": rnd(D),
        "model.class_token": rnd(1, 1, D),
        "model.positional_embedding.pos_embedding": rnd(1, 1 + grid * grid, D),
        "model.norm.weight": 1 + rnd(D),
        "model.norm.bias": rnd(D),
        "model.text_embeddings.word_embeddings.weight": rnd(v, D),
        "model.text_embeddings.position_embeddings.weight": rnd(T, D),
        "model.text_embeddings.token_type_embeddings.weight": rnd(2, D),
        "mlm_head.0.weight": rnd(D, D),
        "mlm_head.0.bias": rnd(D),
        "mlm_head.2.weight": 1 + rnd(D),
        "mlm_head.2.bias": rnd(D),
        "decoder_bias": rnd(v),
    }
    sd["text_decoder.weight"] = sd["model.text_embeddings.word_embeddings.weight"].clone()
    sd.update(original_blocks(L, D, MLP, rnd, rnd))
    if ifa:
        sd["inter_class_head.0.weight"], sd["inter_class_head.0.bias"] = rnd(1, L), rnd(1)
        sd["inter_class_head.3.weight"], sd["inter_class_head.3.bias"] = 1 + rnd(D), rnd(D)
        sd["inter_class_head.4.weight"] = rnd(CLASSES, D)
        sd["inter_class_head.4.bias"] = rnd(CLASSES)
    else:
        sd["class_head.0.weight"], sd["class_head.0.bias"] = 1 + rnd(D), rnd(D)
        sd["class_head.1.weight"], sd["class_head.1.bias"] = rnd(CLASSES, D), rnd(CLASSES)
    return sd


def vocabulary_pickle(monkeypatch) -> bytes:
    """What build_vocab.py writes: pickle.dump of its Vocabulary object."""
    module = types.ModuleType("build_vocab")

    class Vocabulary:
        def __init__(self) -> None:
            self.word2idx: dict[str, int] = {}
            self.idx2word: dict[int, str] = {}
            self.idx = 0

    Vocabulary.__module__ = "build_vocab"
    Vocabulary.__qualname__ = "Vocabulary"
    module.Vocabulary = Vocabulary  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "build_vocab", module)
    vocab = Vocabulary()
    for word in ORIGINAL_VOCAB:
        vocab.word2idx[word] = vocab.idx
        vocab.idx2word[vocab.idx] = word
        vocab.idx += 1
    return pickle.dumps(vocab)


def write_folder(tmp_path, monkeypatch, sd, vocab_bytes: bytes | None = None):
    folder = tmp_path / "vilt"
    folder.mkdir()
    torch.save(sd, folder / "vilt_l16.ckpt")
    (folder / "classid_classname.csv").write_text("0,rem\n1,ram\n2,emilia\n")
    (folder / "vocab.pkl").write_bytes(vocab_bytes or vocabulary_pickle(monkeypatch))
    return folder / "vilt_l16.ckpt"


@pytest.mark.parametrize("ifa", [False, True])
def test_original_vilt_checkpoint_imports_with_the_vocab_pickle(tmp_path, monkeypatch, ifa) -> None:
    sd = original_vilt_state(ifa)
    ckpt = write_folder(tmp_path, monkeypatch, sd)
    pack = import_animesion_checkpoint(ckpt, tmp_path / "pack")
    arch = pack.architecture
    assert arch is not None and arch.name == "vilt_b16" and arch.ifa is ifa
    assert (arch.vocab_size, arch.max_text_seq_len) == (8, T)
    assert pack.multimodal is not None and pack.multimodal.max_text_seq_len == T
    assert set(pack.multimodal.modes) == {"image_only", "generate", "conditioned"}
    tok = TagTokenizer.read_csv(pack.file(pack.multimodal.vocabulary))
    assert tok.tags == ["smile", "hat", "red_hair"]

    ours = load_state_dict_file(pack.file("weights.safetensors"))
    words = sd["model.text_embeddings.word_embeddings.weight"]
    for tag in ("[PAD]", "[CLS]", "[SEP]", "[UNK]", "smile", "hat", "red_hair"):
        original = ORIGINAL_VOCAB.index(tag)
        assert torch.equal(ours["tag_embeddings.weight"][tok.id_of(tag)], words[original]), tag
        assert ours["mlm.bias"][tok.id_of(tag)] == sd["decoder_bias"][original]
    # the row past the original vocabulary is its [MASK] token
    assert torch.equal(ours["tag_embeddings.weight"][MASK_ID], words[-1])
    assert torch.equal(
        ours["tag_positions"][0], sd["model.text_embeddings.position_embeddings.weight"]
    )
    head = "inter_class_head.4.weight" if ifa else "class_head.1.weight"
    assert torch.equal(ours["head.heads.character.weight"], sd[head])
    if not ifa:
        assert torch.equal(ours["head_norm.weight"], sd["class_head.0.weight"])

    model = build_model(arch)
    assert isinstance(model, ViLT)
    model.load_state_dict(ours, strict=True)
    heads, tags = model.eval().forward_multimodal(
        torch.randn(1, 3, SIZE, SIZE), tok.encode_batch([["hat"]], T)
    )
    assert heads["character"].shape == (1, CLASSES) and tags.shape == (1, T, 8)


def test_vocab_csv_export_is_accepted(tmp_path, monkeypatch) -> None:
    sd = original_vilt_state(extra_mask_row=False)
    ckpt = write_folder(tmp_path, monkeypatch, sd)
    (ckpt.parent / "vocab.pkl").unlink()
    (ckpt.parent / "vocab.csv").write_text(
        "id,token\n" + "".join(f"{i},{t}\n" for i, t in enumerate(ORIGINAL_VOCAB))
    )
    pack = import_animesion_checkpoint(ckpt, tmp_path / "pack")
    assert pack.provenance["mask_token_row"].startswith("zero")
    ours = load_state_dict_file(pack.file("weights.safetensors"))
    assert not ours["tag_embeddings.weight"][MASK_ID].any()
    assert read_vocab_csv(ckpt.parent / "vocab.csv")["red_hair"] == 6


def test_vocab_pickle_carrying_os_system_is_refused_and_never_runs(tmp_path, monkeypatch) -> None:
    marker = tmp_path / "ran"
    # protocol 0, by hand: os.system("touch <marker>") as a REDUCE
    evil = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    path = tmp_path / "vocab.pkl"
    path.write_bytes(evil)
    with pytest.raises(PackError, match=r"vocab\.pkl: refused global os\.system"):
        read_vocab_pickle(path)

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path.write_bytes(pickle.dumps({"word2idx": {"a": 0}, "x": Evil()}))
    with pytest.raises(PackError, match=r"refused global (posix|nt|os)\.system"):
        read_vocab_pickle(path)
    # and through the importer, as one clear error
    ckpt = write_folder(tmp_path, monkeypatch, original_vilt_state(), vocab_bytes=evil)
    with pytest.raises(PackError, match=r"refused global os\.system"):
        import_animesion_checkpoint(ckpt, tmp_path / "pack")
    assert not marker.exists()
    assert not (tmp_path / "pack").exists()


@pytest.mark.parametrize(
    "payload",
    [
        b"cbuiltins\neval\n(S'1'\ntR.",
        b"ctorch\nload\n.",
        b"cbuild_vocab\nsubprocess\n.",
    ],
)
def test_every_other_global_is_refused(tmp_path, payload) -> None:
    path = tmp_path / "vocab.pkl"
    path.write_bytes(payload)
    with pytest.raises(PackError, match="refused global"):
        read_vocab_pickle(path)


def test_vocab_pickle_of_a_plain_dict_and_bad_shapes(tmp_path) -> None:
    path = tmp_path / "vocab.pkl"
    path.write_bytes(pickle.dumps({"word2idx": {"[PAD]": 0, "a": 1}}))
    assert read_vocab_pickle(path) == {"[PAD]": 0, "a": 1}
    path.write_bytes(pickle.dumps({"word2idx": {"a": 0, "b": 0}}))
    with pytest.raises(PackError, match="used twice"):
        read_vocab_pickle(path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(PackError, match="vocab.pkl"):
        read_vocab_pickle(path)


def test_tied_decoder_must_equal_the_embeddings(tmp_path, monkeypatch) -> None:
    sd = original_vilt_state()
    sd["text_decoder.weight"] = sd["text_decoder.weight"] + 1
    ckpt = write_folder(tmp_path, monkeypatch, sd)
    with pytest.raises(PackError, match="text_decoder.weight: differs"):
        import_animesion_checkpoint(ckpt, tmp_path / "pack")


def test_unknown_text_key_is_named(tmp_path, monkeypatch) -> None:
    sd = original_vilt_state()
    sd["model.text_embeddings.LayerNorm.weight"] = torch.ones(D)
    ckpt = write_folder(tmp_path, monkeypatch, sd)
    with pytest.raises(PackError, match="text_embeddings.LayerNorm.weight"):
        import_animesion_checkpoint(ckpt, tmp_path / "pack")


def test_pack_multimodal_field_is_validated(tmp_path, monkeypatch) -> None:
    import json

    ckpt = write_folder(tmp_path, monkeypatch, original_vilt_state())
    pack = import_animesion_checkpoint(ckpt, tmp_path / "pack")
    doc_path = pack.path / "pack.json"
    good = json.loads(doc_path.read_text())

    def load_with(change) -> str:
        doc = json.loads(json.dumps(good))
        change(doc)
        doc_path.write_text(json.dumps(doc))
        with pytest.raises(PackError) as info:
            load_pack(pack.path)
        return str(info.value)

    assert "multimodal: missing" in load_with(lambda d: d.pop("multimodal"))
    assert "max_text_seq_len: 9" in load_with(lambda d: d["multimodal"].update(max_text_seq_len=9))
    assert "modes" in load_with(lambda d: d["multimodal"].update(modes=["telepathy"]))
    assert "tag_threshold" in load_with(lambda d: d["multimodal"].update(tag_threshold=0))
    assert "must be a file name" in load_with(
        lambda d: d["multimodal"].update(vocabulary="../x.csv")
    )
    assert "unknown field" in load_with(lambda d: d["multimodal"].update(colour=1))
    doc_path.write_text(json.dumps(good))
    (pack.path / "vocab.csv").write_text("id,token\n0,[PAD]\n")
    with pytest.raises(PackError, match="vocab.csv: line 1|the first ids|1 tokens"):
        load_pack(pack.path)


def test_the_app_predictor_runs_a_vilt_pack_in_image_only_mode(tmp_path, monkeypatch) -> None:
    """open_predictor (what `animesion tag` uses) on a ViLT pack = the image-only mode."""
    import numpy as np

    from models.backends import open_predictor
    from models.multimodal import image_only

    ckpt = write_folder(tmp_path, monkeypatch, original_vilt_state())
    pack = import_animesion_checkpoint(ckpt, tmp_path / "pack")
    predictor = open_predictor(pack, device="cpu", optimize=False)
    x = np.random.default_rng(0).normal(size=(2, 3, SIZE, SIZE)).astype(np.float32)
    probs = predictor.predict(x).heads["character"]
    assert pack.architecture is not None
    model = build_model(pack.architecture)
    model.load_state_dict(load_state_dict_file(pack.file("weights.safetensors")), strict=True)
    assert isinstance(model, ViLT)
    expected = [r.heads["character"].numpy() for r in image_only(model.eval(), torch.from_numpy(x))]
    np.testing.assert_allclose(probs, np.stack(expected), atol=1e-5)
