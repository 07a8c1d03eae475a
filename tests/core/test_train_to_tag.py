"""The whole loop through both commands: animesion-train train -> export-pack, then
animesion packs install -> scan -> tag, and the predictions are what the model learned."""

from __future__ import annotations

import csv
from pathlib import Path

from animesion_desktop.cli import main as animesion
from animesion_desktop.core.library import Library
from training.cli import main as animesion_train

TINY = ["--dataset", "synthetic", "--model", "shallow", "--image-size", "32",
        "--resize-margin", "4", "--synthetic-characters", "4", "--synthetic-per-character", "24",
        "--synthetic-size", "32", "--batch-size", "16", "--workers", "0", "--optimizer", "adamw",
        "--lr", "0.003", "--log-every", "0", "--epochs", "6", "--seed", "0"]


def test_train_export_install_scan_tag(tmp_path: Path) -> None:
    data, run, pack = tmp_path / "data", tmp_path / "run", tmp_path / "pack"
    assert animesion_train(["train", *TINY, "--data", str(data), "--out", str(run)]) == 0
    assert animesion_train(["export-pack", str(run / "best.pt"), "--out", str(pack),
                            "--name", "tiny-trained"]) == 0
    db = ["--library", str(tmp_path / "lib.sqlite")]
    assert animesion([*db, "packs", "install", str(pack)]) == 0
    assert animesion([*db, "scan", str(data)]) == 0
    assert animesion([*db, "tag"]) == 0

    rows = list(csv.DictReader((data / "labels.csv").open()))
    with Library.open(tmp_path / "lib.sqlite") as lib:
        hits = 0
        for row in rows:
            image_id = lib.image_for_path(data / row["path"])
            assert image_id is not None, row["path"]
            with lib.read() as s:
                best = s.connection().exec_driver_sql(
                    "SELECT t.name FROM predictions p JOIN tags t ON t.id = p.tag_id "
                    "WHERE p.image_id = ? AND t.category = 'character' "
                    "ORDER BY p.score DESC LIMIT 1", (image_id,)).scalar()
            hits += best == row["character"]
    # 4 characters: chance is 25 %; a model that learned anything is far above it.
    assert hits / len(rows) > 0.6, f"{hits}/{len(rows)} characters right"
