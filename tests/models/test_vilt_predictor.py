"""open_predictor on a multimodal pack: per image the mode its known tags allow, the generated
tags as one more head, and the image-only embedding."""

from __future__ import annotations

import numpy as np
import torch
import vilt_kit as vk

from models.backends import open_predictor
from models.backends.vilt_backend import ViltPredictor
from models.multimodal import recognize_and_generate, recognize_with_tags
from models.multimodal_heads import TAGS_HEAD, tagging_heads
from models.pack import load_pack
from models.tag_tokenizer import NUM_SPECIAL


def batch(n: int) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, 3, 32, 32)).astype(np.float32)


def test_modes_per_image_tags_head_and_embedding(tmp_path) -> None:
    pack = load_pack(vk.make_vilt_pack(tmp_path / "p"))
    predictor = open_predictor(pack, device="cpu", precision="int8")
    assert isinstance(predictor, ViltPredictor) and predictor.precision == "fp32"
    assert any("fp32" in w for w in predictor.warnings)
    ref = vk.Reference(pack.path)
    x = batch(3)
    known = [("nope",), ("smile", "glasses"), ("hat", "not_known")]
    pred = predictor.predict(x, known_tags=known)
    assert pred.modes == ["generate", "conditioned", "conditioned"]  # unknown tags: left out
    xt = torch.from_numpy(x)
    base = recognize_and_generate(ref.model, ref.tokenizer, xt, 0.01, ref.activations)
    cond = recognize_with_tags(ref.model, ref.tokenizer, xt[1:], [["smile", "glasses"], ["hat"]],
                               ref.activations)
    np.testing.assert_allclose(pred.heads["character"][0], base[0].heads["character"], atol=1e-5)
    np.testing.assert_allclose(pred.heads["character"][1:],
                               np.stack([r.heads["character"] for r in cond]), atol=1e-5)
    # the embedding is the image-only one, whatever the tags: forward_features
    with torch.no_grad():
        np.testing.assert_allclose(pred.embedding, ref.model.forward_features(xt), atol=1e-5)
    # generated tags: one column per vocabulary tag, from the image-only pass
    tags = pred.heads[TAGS_HEAD]
    assert tags.shape == (3, len(ref.tokenizer) - NUM_SPECIAL)
    for i, r in enumerate(base):
        expected = np.zeros(tags.shape[1], dtype=np.float32)
        for tag, p in r.tags:
            expected[ref.tokenizer.id_of(tag) - NUM_SPECIAL] = p
        np.testing.assert_allclose(tags[i], expected, atol=1e-6)
    head = tagging_heads(pack)[-1]
    assert head.name == TAGS_HEAD and [lb.name for lb in head.labels] == list(vk.VOCABULARY)
    assert {lb.category for lb in head.labels} == {"general"}


def test_a_pack_without_the_conditioned_mode_ignores_known_tags(tmp_path) -> None:
    pack = load_pack(vk.make_vilt_pack(tmp_path / "p", modes=["image_only", "generate"]))
    predictor = open_predictor(pack, device="cpu")
    x = batch(2)
    given = predictor.predict(x, known_tags=[("smile",), ("hat",)])
    alone = predictor.predict(x)
    assert given.modes == alone.modes == ["generate", "generate"]
    np.testing.assert_allclose(given.heads["character"], alone.heads["character"], atol=1e-6)


def test_a_pack_that_does_not_generate_has_no_tags_head(tmp_path) -> None:
    pack = load_pack(vk.make_vilt_pack(tmp_path / "p", modes=["image_only", "conditioned"]))
    predictor = open_predictor(pack, device="cpu")
    pred = predictor.predict(batch(2), known_tags=[(), ("hat",)])
    assert pred.modes == ["image_only", "conditioned"] and TAGS_HEAD not in pred.heads
    assert tagging_heads(pack) == pack.heads
