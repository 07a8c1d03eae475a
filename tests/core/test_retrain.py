"""The loop: scanned images labelled -> export ours -> train (tiny budget) -> pack installed ->
tag, through the real commands; and `animesion retrain`, whose cancel leaves the library as it
was and kills the training process."""

from __future__ import annotations

import csv
import os
import threading
from pathlib import Path

import pytest
from exchange_kit import all_labels

from animesion_desktop.cli import main as animesion
from animesion_desktop.core.exchange.retrain import RetrainOptions, retrain
from animesion_desktop.core.library import Library
from training.cli import main as animesion_train

TINY = ["--model", "shallow", "--image-size", "32", "--resize-margin", "4", "--batch-size", "16",
        "--workers", "0", "--optimizer", "adamw", "--lr", "0.003", "--log-every", "0",
        "--epochs", "6", "--seed", "0"]
N_CHARACTERS = 4


@pytest.fixture
def labelled(tmp_path: Path) -> tuple[list[str], Path]:
    """A synthetic collection, scanned, each image's character accepted by the user."""
    data = tmp_path / "art"
    assert animesion_train(["synthetic", "--out", str(data), "--characters", str(N_CHARACTERS),
                            "--per-character", "16", "--size", "32"]) == 0
    db = ["--library", str(tmp_path / "lib.sqlite")]
    assert animesion([*db, "scan", str(data)]) == 0
    characters = sorted({r["character"] for r in csv.DictReader((data / "labels.csv").open())})
    for name in characters:
        assert animesion([*db, "label", "--query", f"path:*/{name}/*", "-a", f"character:{name}"]) == 0
    return db, data


def agreement(lib: Library, pack: str) -> float:
    """How often the pack's best character is the one the user accepted."""
    with lib.read() as s:
        rows = s.connection().exec_driver_sql(
            "SELECT l.image_id, t.name FROM labels l JOIN tags t ON t.id = l.tag_id "
            "WHERE t.category = 'character' AND l.state = 'accepted'").fetchall()
        hits = 0
        for image_id, truth in rows:
            best = s.connection().exec_driver_sql(
                "SELECT t.name FROM predictions p JOIN packs k ON k.id = p.pack_id "
                "JOIN tags t ON t.id = p.tag_id WHERE k.name = ? AND p.image_id = ? "
                "AND t.category = 'character' ORDER BY p.score DESC LIMIT 1", (pack, image_id)).scalar()
            hits += best == truth
    return hits / len(rows)


def test_round_trip_through_the_commands(labelled, tmp_path):
    db, _ = labelled
    with Library.open(tmp_path / "lib.sqlite") as lib:
        before = all_labels(lib)
    export, run, pack = tmp_path / "export", tmp_path / "run", tmp_path / "pack"
    assert animesion([*db, "export", "ours", str(export)]) == 0
    assert animesion_train(["train", "--dataset", "export", "--data", str(export), *TINY,
                            "--out", str(run)]) == 0
    assert animesion_train(["export-pack", str(run / "best.pt"), "--out", str(pack),
                            "--name", "mine"]) == 0
    assert animesion([*db, "packs", "install", str(pack)]) == 0
    assert animesion([*db, "tag", "--pack", "mine"]) == 0
    with Library.open(tmp_path / "lib.sqlite") as lib:
        assert all_labels(lib) == before  # no model run changes a decision
        assert agreement(lib, "mine") > 1.5 / N_CHARACTERS  # chance is 1 / 4


def test_retrain_command_installs_activates_and_tags(labelled, tmp_path, capsys):
    db, _ = labelled
    with Library.open(tmp_path / "lib.sqlite") as lib:
        before = all_labels(lib)
    code = animesion([*db, "retrain", "--minutes", "2", "--name", "mine", "--activate", "--tag",
                      "--", *TINY])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "new pack mine: validation top-1" in out and "splits: train" in out
    with Library.open(tmp_path / "lib.sqlite") as lib:
        from animesion_desktop.core.tagging import packs_registry as registry

        summary = registry.get_summary(lib, "mine")
        assert summary.active and summary.images == N_CHARACTERS * 16
        metrics = registry.pack_details(lib, "mine")["metrics"]
        assert metrics["test"]["character"]["images"] == N_CHARACTERS * 2  # this export's test split
        assert all_labels(lib) == before
        assert agreement(lib, "mine") > 1.5 / N_CHARACTERS


def test_cancel_kills_the_training_process_and_leaves_the_library_as_it_was(labelled, tmp_path):
    with Library.open(tmp_path / "lib.sqlite") as lib:
        before = all_labels(lib)
        packs_before = sorted(p.name for p in lib.location.packs_dir.iterdir())
        cancel = threading.Event()
        work = tmp_path / "work"
        job = retrain(lib, RetrainOptions(minutes=5, name="never", work=work,
                                          train_args=("--model", "shallow", "--epochs", "1000",
                                                      "--workers", "0")), cancel)
        pid = None
        try:
            while True:
                progress = next(job)
                if progress.stage == "training":
                    pid = progress.extra["pid"]
                    cancel.set()
        except StopIteration as stop:
            result = stop.value
        assert result.cancelled and pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # stopped and reaped
        assert not work.exists()
        assert all_labels(lib) == before
        assert sorted(p.name for p in lib.location.packs_dir.iterdir()) == packs_before
        with lib.read() as s:
            assert s.connection().exec_driver_sql("SELECT COUNT(*) FROM packs").scalar() == 0


def test_too_few_characters_is_one_clear_line(tmp_path, capsys):
    from exchange_kit import labelled_library

    with Library.open(tmp_path / "lib.sqlite") as lib:
        labelled_library(lib, tmp_path / "art", counts=(3, 2))
    code = animesion(["--library", str(tmp_path / "lib.sqlite"), "retrain", "--minutes", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "at least two characters" in err and "Traceback" not in err


def test_fine_tunes_the_active_pack_that_shares_characters(lib, tmp_path):
    import yaml
    from exchange_kit import labelled_library
    from tagging_kit import write_real_pack

    from animesion_desktop.core.exchange.retrain import choose_base, transfer_args
    from animesion_desktop.core.jobs import run_to_end
    from animesion_desktop.core.tagging import packs_registry as registry

    labelled_library(lib, tmp_path / "art", counts=(5, 4, 3))
    registry.install(lib, write_real_pack(tmp_path / "p1", "other", characters=("alice", "bob")))
    registry.install(lib, write_real_pack(tmp_path / "p2", "near", characters=("shana", "bob")))
    classes = {"hatsune_miku", "shana", "izumi_konata"}
    assert choose_base(lib, None, classes) == ("near", "near")
    registry.set_active(lib, "near", False)
    assert choose_base(lib, None, classes) == (None, "other")  # compared, not fine-tuned
    args = transfer_args(lib, "near")
    assert args[:2] == ["--transfer", str(lib.location.packs_dir / "near" / "weights.safetensors")]
    assert args[2:4] == ["--model", "shallow"]

    result = run_to_end(retrain(lib, RetrainOptions(
        minutes=2, from_pack="near", name="mine", work=tmp_path / "work",
        train_args=("--resize-margin", "4", "--batch-size", "8", "--workers", "0",
                    "--epochs", "2", "--log-every", "0")), threading.Event()))
    assert result.base == "near" and not result.activated
    config = yaml.safe_load((tmp_path / "work" / "run" / "config.yaml").read_text())
    assert config["transfer"].endswith("weights.safetensors") and config["model"] == "shallow"
    assert registry.get_summary(lib, "mine").active is False


def test_ctrl_c_on_the_command_stops_training_and_installs_nothing(labelled, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    db, _ = labelled
    work = tmp_path / "work"
    proc = subprocess.Popen(
        [sys.executable, "-m", "animesion_desktop.cli", *db, "retrain", "--minutes", "5",
         "--work", str(work), "--", "--model", "shallow", "--epochs", "1000", "--workers", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A terminal's Ctrl-C: SIGINT at its default in the child, whatever an earlier test in
        # this process left it at (an ignored SIGINT is inherited, and the command would ignore it).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (work / "run" / "config.yaml").exists():  # the trainer has started
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert not work.exists()
    with Library.open(tmp_path / "lib.sqlite") as lib, lib.read() as s:
        assert s.connection().exec_driver_sql("SELECT COUNT(*) FROM packs").scalar() == 0
    # No training process of this run is left behind.
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(work) not in ps
