"""Tiny runs of the whole path: train -> checkpoint -> export-pack -> load_pack -> predict."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.backends import open_predictor
from models.pack import load_pack
from training.cli import main
from training.demo import build_demo_pack
from training.errors import TrainingError
from training.evaluate import evaluate
from training.explore import explore
from training.infer import infer

TINY = ["--dataset", "synthetic", "--model", "shallow", "--image-size", "32",
        "--resize-margin", "4", "--synthetic-characters", "4", "--synthetic-per-character", "10",
        "--synthetic-size", "32", "--batch-size", "8", "--workers", "0", "--optimizer", "adamw",
        "--lr", "0.002", "--log-every", "0"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("e2e")
    code = main(["train", *TINY, "--data", str(root / "data"), "--out", str(root / "run"),
                 "--epochs", "2"])
    assert code == 0
    return root


def test_run_folder_has_everything(trained):
    run = trained / "run"
    for name in ("best.pt", "last.pt", "config.yaml", "splits.json", "data.json", "log.jsonl",
                 "log.csv", "curves.png", "summary.json"):
        assert (run / name).is_file(), name
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert {"character", "copyright", "general", "rating"} <= set(records[-1]["val"])
    ckpt = torch.load(run / "best.pt", weights_only=True)  # plain dict: no pickled objects
    for key in ("state_dict", "optimizer", "epoch", "config", "model_config", "classes", "tags"):
        assert key in ckpt
    assert isinstance(ckpt["config"], dict) and ckpt["model_config"]["name"] == "shallow"
    assert len(ckpt["classes"]) == 4 and ckpt["tags"]
    assert not any(k.startswith(("module.", "_orig_mod.")) for k in ckpt["state_dict"])


def test_export_pack_loads_and_predicts(trained):
    out = trained / "pack"
    assert main(["export-pack", str(trained / "run" / "best.pt"), "--out", str(out),
                 "--workers", "0"]) == 0
    pack = load_pack(out)
    assert [h.name for h in pack.heads] == ["character", "copyright", "general", "rating"]
    general = next(h for h in pack.heads if h.name == "general")
    assert all(0 < lab.threshold <= 1 for lab in general.labels)
    assert {"val", "test"} <= set(pack.metrics)
    assert pack.provenance["data"]["fingerprint"].startswith("sha256:")
    assert pack.provenance["training_config"]["model"] == "shallow"
    # A shared pack names its data and run folders but does not reveal where they were.
    assert pack.provenance["training_config"]["out"] == "run"
    assert str(trained) not in json.dumps(pack.provenance)
    assert "code_revision" in pack.provenance
    image = Image.open(next((trained / "data" / "images").rglob("*.png")))
    with open_predictor(pack, device="cpu") as predictor:
        prediction = predictor.predict(np.stack([predictor.preprocess(image)]))
    assert prediction.heads["character"].shape == (1, 4)
    assert np.isclose(prediction.heads["character"].sum(), 1.0, atol=1e-4)


def test_evaluate_pack_and_checkpoint_with_precision_comparison(trained):
    pack_dir = trained / "pack"
    if not pack_dir.exists():
        main(["export-pack", str(trained / "run" / "best.pt"), "--out", str(pack_dir),
              "--workers", "0"])
    results = evaluate(pack_dir, out=trained / "eval", split="all", compare=True)
    character = results["heads"]["character"]
    assert 0 <= character["top1"] <= character["top5"] <= 1
    assert {"ece", "macro_accuracy", "most_confused"} <= set(character)
    assert "micro_f1" in results["heads"]["general"]["at_pack_thresholds"]
    cp = results["compare_precision"]["heads"]["character"]
    assert abs(cp["delta_points"]) <= 0.5 and cp["top1_agreement"] > 0.9
    for name in ("results.json", "character_per_class_accuracy.csv",
                 "character_misclassified.csv", "general_tags.csv", "pr_curves.png"):
        assert (trained / "eval" / name).is_file(), name
    # The pack only names its data folder; the seeded synthetic set was made again beside the
    # results (not in the working folder) and is the same data set the pack was trained on.
    assert results["data"]["fingerprint"] == load_pack(pack_dir).provenance["data"]["fingerprint"]
    checkpoint = evaluate(trained / "run" / "best.pt", out=trained / "eval-ckpt", split="test",
                          workers=0)
    assert checkpoint["data"]["evaluated_images"] == len(
        json.loads((trained / "run" / "splits.json").read_text())["splits"]["test"])


def test_infer_and_explore(trained, capsys):
    pack_dir = trained / "pack"
    if not pack_dir.exists():
        main(["export-pack", str(trained / "run" / "best.pt"), "--out", str(pack_dir),
              "--workers", "0"])
    folder = next((trained / "data" / "images").iterdir())
    results = infer(pack_dir, [folder], save_dir=trained / "pictures")
    assert len(results) == 10 and len(results[0].top["character"]) == 4
    assert len(list((trained / "pictures").glob("*_top5.png"))) == 10
    assert main(["infer", str(pack_dir), str(next(folder.iterdir()))]) == 0
    assert "character:" in capsys.readouterr().out
    stats = explore("export", trained / "data", trained / "explore", grid=9)
    assert stats["characters"] == 4 and stats["images"] == 40
    for name in ("class_histogram.png", "image_grid.png", "tags.png", "stats.json"):
        assert (trained / "explore" / name).is_file()


def test_resume_and_transfer(trained, tmp_path):
    run = trained / "run"
    assert main(["train", "--resume", str(run / "last.pt"), *TINY, "--data",
                 str(trained / "data"), "--out", str(tmp_path / "resumed"), "--epochs", "3"]) == 0
    resumed = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)
    assert resumed["epoch"] == 3
    assert (json.loads((tmp_path / "resumed" / "splits.json").read_text())["splits"]
            == json.loads((run / "splits.json").read_text())["splits"])
    # Other characters: the character head is re-initialised, the backbone carries over.
    other = [a if a != "4" else "5" for a in TINY]
    assert main(["train", "--transfer", str(run / "best.pt"), *other, "--synthetic-seed", "9",
                 "--data", str(tmp_path / "other"), "--out", str(tmp_path / "transfer"),
                 "--epochs", "1"]) == 0
    moved = torch.load(tmp_path / "transfer" / "last.pt", weights_only=True)
    assert len(moved["classes"]) == 5


def test_time_budget_stops_and_keeps_best(tmp_path):
    code = main(["train", *TINY, "--data", str(tmp_path / "data"), "--out", str(tmp_path / "r"),
                 "--epochs", "1000", "--max-minutes", "0.1"])
    assert code == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    # The budget, not the 1,000 epochs, ended the run (no clock is asserted: speed varies).
    assert summary["stopped_by"] == "max_minutes" and summary["epochs_run"] < 1000
    assert (tmp_path / "r" / "best.pt").is_file()


def test_exclusion_loss_needs_an_ifa_vit(tmp_path, capsys):
    assert main(["train", *TINY, "--exclusion-loss", "--data", str(tmp_path / "d"),
                 "--out", str(tmp_path / "r"), "--epochs", "1"]) == 2
    assert "--ifa" in capsys.readouterr().err


def test_exclusion_forward_on_a_small_ifa_vit():
    from models.registry import create_model
    from training.losses import exclusion_loss
    from training.modeling import TrainForward

    model = create_model("vit_b16", heads={"character": 3}, image_size=32, ifa=True,
                         hidden_size=32, num_layers=4, num_attention_heads=2, mlp_dim=64)
    logits, inter = TrainForward(model, with_intermediates=True)(torch.randn(2, 3, 32, 32))
    assert logits["character"].shape == (2, 3) and len(inter) == 4
    loss = logits["character"].sum() - 0.01 * exclusion_loss(inter)
    loss.backward()
    assert model.ifa.layer_weights.grad is not None


def test_quick_demo_pack_learns_well_above_chance(tmp_path):
    pack = build_demo_pack(tmp_path / "pack", work=tmp_path / "work", quick=True)
    fresh = pack.metrics["fresh_synthetic_test"]
    chance = 1 / 6
    assert fresh["character"]["top1"] > 3 * chance
    assert [h.name for h in pack.heads] == ["character", "copyright", "general", "rating"]


def test_demo_pack_refuses_to_overwrite_a_non_pack_folder(tmp_path):
    (tmp_path / "precious").mkdir()
    (tmp_path / "precious" / "notes.txt").write_text("keep me")
    from training.demo import _replace_pack_folder

    with pytest.raises(TrainingError):
        _replace_pack_folder(tmp_path / "precious")


def test_training_options_smoke(trained, tmp_path):
    """amp (bf16 on CPU), gradient accumulation, class-balanced loss, label smoothing, epoch
    decay, a heads subset and a YAML config under the flags, in one short run."""
    (tmp_path / "run.yaml").write_text(
        "optimizer: sgd\nscheduler: epoch_decay\nepoch-decay: 1\nlabel_smoothing: 0.1\n"
        "heads: [character, general]\n")
    assert main(["train", "--config", str(tmp_path / "run.yaml"), *TINY, "--amp",
                 "--grad-accum", "2", "--class-balanced", "0.99", "--data",
                 str(trained / "data"), "--out", str(tmp_path / "r"), "--epochs", "2"]) == 0
    ckpt = torch.load(tmp_path / "r" / "last.pt", weights_only=True)
    assert set(ckpt["labels"]) == {"character", "general"}
    assert ckpt["config"]["optimizer"] == "adamw"  # the flag in TINY overrides the file
    assert ckpt["config"]["scheduler"] == "epoch_decay" and ckpt["config"]["amp"] is True
    assert "label_smoothing: 0.1" in (tmp_path / "r" / "config.yaml").read_text()


def test_pretrained_torchvision_weights_file(trained, tmp_path):
    from torchvision.models import resnet18

    torch.save(resnet18(weights=None).state_dict(), tmp_path / "resnet18.pth")
    args = [a if a != "shallow" else "resnet18" for a in TINY]
    assert main(["train", *args, "--pretrained", str(tmp_path / "resnet18.pth"), "--data",
                 str(trained / "data"), "--out", str(tmp_path / "r"), "--max-steps", "1"]) == 0
    assert main(["train", *args, "--pretrained", str(tmp_path / "none.pth"), "--data",
                 str(trained / "data"), "--out", str(tmp_path / "r2"), "--max-steps", "1"]) == 2
