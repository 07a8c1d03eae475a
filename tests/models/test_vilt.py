"""ViLT: tag tokenizer, tag tokens after the image tokens, padding mask, tied MLM head, modes."""

from __future__ import annotations

import pytest
import torch

from models.architectures.vilt import ViLT
from models.multimodal import (
    image_only,
    recognize_and_generate,
    recognize_with_tags,
    tag_probabilities,
)
from models.registry import build_model, create_model
from models.tag_tokenizer import CLS_ID, MASK_ID, PAD_ID, SEP_ID, UNK_ID, TagTokenizer

TINY = dict(hidden_size=32, num_layers=2, num_attention_heads=2, mlp_dim=64, patch_size=8)
TAGS = ["red_hair", "blue_eyes", "smile", "hat"]


def tiny(ifa: bool = False, max_len: int = 6) -> ViLT:
    torch.manual_seed(0)
    model = create_model(
        "vilt_b16", heads={"character": 3}, image_size=32, ifa=ifa,
        vocab_size=5 + len(TAGS), max_text_seq_len=max_len, **TINY,
    )  # fmt: skip
    assert isinstance(model, ViLT)
    return model.eval()


def test_tokenizer_specials_order_padding_truncation_and_round_trip(tmp_path) -> None:
    tok = TagTokenizer(TAGS)
    assert tok.tokens[:5] == ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"]
    assert (PAD_ID, CLS_ID, SEP_ID, MASK_ID, UNK_ID) == (0, 1, 2, 3, 4)
    ids = tok.encode(["smile", "nope", "smile", "hat"], max_len=7)
    assert ids == [CLS_ID, tok.id_of("smile"), UNK_ID, tok.id_of("hat"), SEP_ID, PAD_ID, PAD_ID]
    assert tok.encode(TAGS, max_len=4) == [CLS_ID, 5, 6, SEP_ID]  # truncated, [SEP] kept
    assert tok.decode([CLS_ID, 7, 7, MASK_ID, 5, PAD_ID]) == ["smile", "red_hair"]
    tok.write_csv(tmp_path / "vocab.csv")
    back = TagTokenizer.read_csv(tmp_path / "vocab.csv")
    assert back.tokens == tok.tokens
    with pytest.raises(ValueError, match="listed twice"):
        TagTokenizer(["a", "a"])


def test_tokenizer_csv_with_bad_id_names_the_line(tmp_path) -> None:
    path = tmp_path / "vocab.csv"
    path.write_text("id,token\n0,[PAD]\n2,[CLS]\n")
    with pytest.raises(ValueError, match="line 3"):
        TagTokenizer.read_csv(path)


def test_tag_tokens_follow_the_image_tokens_and_heads_shapes() -> None:
    model = tiny()
    x = torch.randn(2, 3, 32, 32)
    tags = torch.tensor([[1, 5, 6, 2, 0, 0], [1, 7, 2, 0, 0, 0]])
    states = model.encode(x, tags)
    assert len(states) == 3  # embeddings + 2 blocks
    assert states[0].shape == (2, 1 + 16 + 6, 32)
    heads, tag_logits = model.forward_multimodal(x, tags)
    assert heads["character"].shape == (2, 3)
    assert tag_logits.shape == (2, 6, 9)


def test_padding_slots_are_not_attended() -> None:
    """Changing what sits in a [PAD] slot's embedding must not change any real output."""
    model = tiny()
    x = torch.randn(1, 3, 32, 32)
    tags = torch.tensor([[1, 5, 2, 0, 0, 0]])
    with torch.no_grad():
        before = model.forward_multimodal(x, tags)
        model.tag_embeddings.weight[PAD_ID].normal_(std=5.0)
        after = model.forward_multimodal(x, tags)
    assert torch.allclose(before[0]["character"], after[0]["character"], atol=1e-5)
    # real slots, real tags (the [PAD] column itself is the changed, tied row)
    assert torch.allclose(before[1][:, :3, 1:], after[1][:, :3, 1:], atol=1e-5)


def test_known_tags_change_the_character_logits() -> None:
    model = tiny()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        a = model.forward_multimodal(x, torch.tensor([[1, 5, 2, 0, 0, 0]]))[0]["character"]
        b = model.forward_multimodal(x, torch.tensor([[1, 8, 2, 0, 0, 0]]))[0]["character"]
    assert not torch.allclose(a, b)


def test_mlm_decoder_is_tied_to_the_tag_embeddings() -> None:
    model = tiny()
    keys = model.state_dict().keys()
    assert "tag_embeddings.weight" in keys and not any(k.startswith("mlm.embeddings") for k in keys)
    x = torch.randn(1, 3, 32, 32)
    tags = model.masked_tags(1)
    with torch.no_grad():
        before = model.forward_multimodal(x, tags)[1]
        model.tag_embeddings.weight[6].add_(torch.randn(32))  # [MASK] slots do not read row 6
        after = model.forward_multimodal(x, tags)[1]
    assert not torch.allclose(before[..., 6], after[..., 6])
    assert torch.allclose(before[..., 5], after[..., 5], atol=1e-5)


@pytest.mark.parametrize("ifa", [False, True])
def test_forward_is_the_image_only_mode_and_config_rebuilds(ifa: bool) -> None:
    model = tiny(ifa=ifa)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        plain = model(x)["character"]
        masked = model.forward_multimodal(x, model.masked_tags(2))[0]["character"]
    assert torch.allclose(plain, masked, atol=1e-6)
    assert len(model.forward_intermediates(x)) == 2
    again = build_model(model.config.to_dict())
    again.load_state_dict(model.state_dict(), strict=True)
    assert again.config.vocab_size == 9 and again.config.max_text_seq_len == 6


def test_image_only_mode_matches_forward() -> None:
    model = tiny()
    x = torch.randn(2, 3, 32, 32)
    out = image_only(model, x)
    with torch.no_grad():
        expected = model(x)["character"].softmax(-1)
    assert [r.mode for r in out] == ["image_only", "image_only"]
    assert torch.allclose(out[0].heads["character"], expected[0], atol=1e-6)


def test_generated_tags_have_probabilities_are_thresholded_and_clean() -> None:
    model = tiny()
    tok = TagTokenizer(TAGS)
    with torch.no_grad():
        # Push the decoder bias so specials would win if they were not excluded.
        model.mlm.bias.zero_()
        model.mlm.bias[MASK_ID] = 20.0
        model.mlm.bias[tok.id_of("hat")] = 19.0
        model.mlm.bias[tok.id_of("smile")] = 18.5
    [result] = recognize_and_generate(model, tok, torch.randn(1, 3, 32, 32), threshold=0.1)
    names = [t for t, _ in result.tags]
    assert names == ["hat", "smile"]  # most probable first, no specials, no repeats
    assert all(0.1 <= p <= 1.0 for _, p in result.tags)
    assert result.tags[0][1] > result.tags[1][1]
    [none] = recognize_and_generate(model, tok, torch.randn(1, 3, 32, 32), threshold=0.99)
    assert none.tags == []


def test_tag_probabilities_take_the_best_slot() -> None:
    logits = torch.full((1, 2, 7), -10.0)
    logits[0, 0, 5] = 10.0
    logits[0, 1, 6] = 10.0
    best = tag_probabilities(logits, torch.tensor([[True, False]]))
    assert best[0, 5] > 0.99 and best[0, 6] < 0.01 and best[0, :5].sum() == 0


def test_conditioned_mode_uses_the_known_tags() -> None:
    model = tiny()
    tok = TagTokenizer(TAGS)
    x = torch.randn(2, 3, 32, 32)
    out = recognize_with_tags(model, tok, x, [["red_hair", "hat"], []])
    assert [r.mode for r in out] == ["conditioned", "image_only"]
    with torch.no_grad():
        tags = tok.encode_batch([["red_hair", "hat"]], 6)
        expected = model.forward_multimodal(x[:1], tags)[0]["character"].softmax(-1)[0]
        alone = model(x[1:])["character"].softmax(-1)[0]
    assert torch.allclose(out[0].heads["character"], expected, atol=1e-6)
    assert torch.allclose(out[1].heads["character"], alone, atol=1e-6)
    with pytest.raises(ValueError, match="known_tags"):
        recognize_with_tags(model, tok, x, [["hat"]])
