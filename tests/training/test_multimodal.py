"""ViLT training: mask schedules and behaviours, loss, evaluation, and a tiny synthetic run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from models.pack import load_pack
from models.tag_tokenizer import CLS_ID, MASK_ID, PAD_ID, SEP_ID, TagTokenizer
from training.cli import build_parser, main
from training.config import TrainConfig
from training.errors import TrainingError
from training.multimodal_masking import IGNORE, is_tag, mask_ratio, mask_tags, shuffle_tags
from training.multimodal_metrics import multi_hot
from training.multimodal_train import tag_loss, train_multimodal

TINY = dict(hidden_size=32, num_layers=2, num_attention_heads=2, mlp_dim=64, patch_size=8)


def ids() -> torch.Tensor:
    return torch.tensor(
        [[CLS_ID, 5, 6, 7, SEP_ID, PAD_ID], [CLS_ID, 8, SEP_ID, PAD_ID, PAD_ID, PAD_ID]]
    )


def test_mask_schedules() -> None:
    assert mask_ratio("none", 0.5) == 0.0 and mask_ratio("full", 0.0) == 1.0
    assert mask_ratio("bert", 0.9) == pytest.approx(0.15)
    cos = [mask_ratio("cosine", p) for p in (0.0, 0.25, 0.5, 1.0)]
    assert cos[0] == 0.0 and cos[2] == pytest.approx(0.5) and cos[3] == pytest.approx(1.0)
    assert cos == sorted(cos)
    with pytest.raises(ValueError, match="mask_schedule"):
        mask_ratio("sometimes", 0.1)


def test_constant_masking_targets_only_tags_and_full_is_image_only() -> None:
    g = torch.Generator().manual_seed(0)
    inputs, targets = mask_tags(ids(), 0.5, "constant", 9, g)
    tags = is_tag(ids())
    assert ((targets != IGNORE) <= tags).all()  # only tag slots get targets
    assert (targets[targets != IGNORE] == ids()[targets != IGNORE]).all()
    partly = (targets != IGNORE) & tags
    assert (inputs[partly] == MASK_ID).all()
    full_in, full_t = mask_tags(ids(), 1.0, "constant", 9, g)
    assert (full_in == MASK_ID).all()  # exactly what image-only inference feeds
    assert ((full_t != IGNORE) == tags).all()
    none_in, none_t = mask_tags(ids(), 0.0, "constant", 9, g)
    assert torch.equal(none_in, ids()) and (none_t == IGNORE).all()


def test_random_masking_uses_mask_random_tags_and_keeps() -> None:
    g = torch.Generator().manual_seed(0)
    big = torch.tensor([[CLS_ID, *range(5, 205), SEP_ID]])
    inputs, targets = mask_tags(big, 1.0, "random", 205, g)
    chosen = targets != IGNORE
    assert chosen.sum() == 200
    masked = (inputs == MASK_ID) & chosen
    kept = (inputs == big) & chosen
    assert 0.65 < masked.float().sum() / 200 < 0.95
    assert 0.02 < kept.float().sum() / 200 < 0.25
    assert inputs[0, 0] == CLS_ID and inputs[0, -1] == SEP_ID


def test_shuffle_keeps_each_rows_tags_and_specials() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.tensor([[CLS_ID, *range(5, 25), SEP_ID, PAD_ID]])
    y = shuffle_tags(x, g)
    assert not torch.equal(x, y)
    assert sorted(y[0, 1:21].tolist()) == list(range(5, 25))
    assert y[0, 0] == CLS_ID and y[0, 21] == SEP_ID and y[0, 22] == PAD_ID


def test_tag_loss_is_zero_without_masked_slots_and_positive_with() -> None:
    logits = torch.randn(2, 6, 9)
    assert float(tag_loss(logits, torch.full((2, 6), IGNORE))) == 0.0
    targets = torch.full((2, 6), IGNORE)
    targets[0, 1] = 5
    assert float(tag_loss(logits, targets)) > 0


def test_multi_hot_drops_unknown_tags() -> None:
    tok = TagTokenizer(["a", "b"])
    np.testing.assert_array_equal(multi_hot(tok, [["b", "zzz"], []]), [[0, 1], [0, 0]])


def test_flags_parse_and_validate() -> None:
    args = build_parser().parse_args(
        ["train", "--multimodal", "--model", "vilt_b16", "--max-text-seq-len", "8",
         "--mask-schedule", "bert", "--masking-behavior", "random", "--shuffle-tokens"]
    )  # fmt: skip
    assert (args.multimodal, args.max_text_seq_len, args.mask_schedule) == (True, 8, "bert")
    assert args.masking_behavior == "random" and args.shuffle_tokens is True
    with pytest.raises(TrainingError, match="vilt_"):
        TrainConfig(multimodal=True, model="resnet18").validate()
    with pytest.raises(TrainingError, match="max_text_seq_len"):
        TrainConfig(max_text_seq_len=2).validate()


def test_cli_refuses_multimodal_with_a_non_vilt_model(tmp_path, capsys) -> None:
    code = main(["train", "--multimodal", "--model", "shallow", "--out", str(tmp_path / "r")])
    assert code != 0
    assert "vilt_" in capsys.readouterr().err


def test_tiny_synthetic_run_trains_evaluates_and_writes_a_multimodal_pack(tmp_path, capsys) -> None:
    cfg = TrainConfig(
        dataset="synthetic", data=str(tmp_path / "data"), out=str(tmp_path / "run"),
        model="vilt_b16", image_size=32, resize_margin=4, synthetic_characters=4,
        synthetic_per_character=10, synthetic_size=32, batch_size=8, workers=0,
        optimizer="adamw", lr=0.002, log_every=0, epochs=3, multimodal=True,
        max_text_seq_len=12, mask_schedule="cosine", shuffle_tokens=True,
    ).validate()  # fmt: skip
    lines: list[str] = []
    result = train_multimodal(cfg, torch.device("cpu"), model_overrides=TINY, say=lines.append)
    m = result.metrics
    for key in ("top1_without_tags", "top1_with_tags", "tag_precision", "tag_recall", "tag_f1",
                "tag_map"):  # fmt: skip
        assert 0.0 <= m[key] <= 1.0, key
    assert m["images"] > 0 and result.steps > 0
    assert any("top-1 with tags" in line for line in lines)
    assert any("F1" in line and "mAP" in line for line in lines)
    saved = json.loads((result.out / "multimodal_metrics.json").read_text())
    assert saved["top1_with_tags"] == m["top1_with_tags"]
    pack = load_pack(result.pack)
    assert pack.multimodal is not None and pack.multimodal.max_text_seq_len == 12
    assert pack.architecture is not None and pack.architecture.name == "vilt_b16"
    assert pack.multimodal.tag_threshold == m["tag_threshold"]  # chosen on the validation split
    tok = TagTokenizer.read_csv(pack.file(pack.multimodal.vocabulary))
    assert "smile" in tok.tags or "open_mouth" in tok.tags  # synthetic tags made the vocabulary

    # animesion-train evaluate of the pack: the same data regenerated from its recorded config
    capsys.readouterr()
    assert main(["evaluate", str(result.pack), "--out", str(tmp_path / "eval")]) == 0
    printed = capsys.readouterr().out
    assert "top-1 without tags (image only)" in printed
    assert "top-1 with tags (conditioned)" in printed and "mAP" in printed
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert results["multimodal"]["top1_with_tags"] == pytest.approx(m["top1_with_tags"])
    assert results["multimodal"]["tag_f1"] == pytest.approx(m["tag_f1"])
