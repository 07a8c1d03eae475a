import pytest

from training.cli import build_parser, main
from training.config import read_config_file, resolve_config
from training.errors import TrainingError


def test_config_file_then_flags(tmp_path):
    (tmp_path / "c.yaml").write_text("model: shallow\nbatch-size: 8\nifa: true\nlr: 1\n")
    values = read_config_file(tmp_path / "c.yaml")
    assert values == {"model": "shallow", "batch_size": 8, "ifa": True, "lr": 1.0}
    args = build_parser().parse_args(["train", "--batch-size", "4", "--no-ifa",
                                      "--class-balanced", "--split-fractions", "0.7", "0.2", "0.1"])
    flags = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
    cfg = resolve_config(values, flags)
    assert (cfg.model, cfg.batch_size, cfg.ifa, cfg.class_balanced) == ("shallow", 4, False, 0.999)
    # epochs: the scratch recipe (an explicit model without shipped weights) fills it
    assert cfg.split_fractions == [0.7, 0.2, 0.1] and cfg.epochs == 30
    assert cfg.recipe == "scratch" and cfg.optimizer == "adamw"


def test_toml_and_bad_config_files(tmp_path):
    (tmp_path / "c.toml").write_text('model = "resnet18"\nepochs = 3\n')
    assert read_config_file(tmp_path / "c.toml") == {"model": "resnet18", "epochs": 3}
    (tmp_path / "bad.yaml").write_text("epochz: 3\n")
    with pytest.raises(TrainingError, match="unknown option 'epochz'"):
        read_config_file(tmp_path / "bad.yaml")
    (tmp_path / "bad2.yaml").write_text("epochs: many\n")
    with pytest.raises(TrainingError, match="epochs: expected int"):
        read_config_file(tmp_path / "bad2.yaml")
    (tmp_path / "evil.yaml").write_text("model: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(TrainingError, match="cannot parse"):
        read_config_file(tmp_path / "evil.yaml")
    with pytest.raises(TrainingError, match="scheduler"):
        resolve_config({"scheduler": "sometimes"})


def test_bad_input_is_one_line_not_a_traceback(tmp_path, capsys):
    assert main(["train", "--dataset", "folder", "--data", str(tmp_path / "missing"),
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing" in err and "Traceback" not in err
    (tmp_path / "labels.csv").write_text("path,character\n,x\n")
    assert main(["explore", "export", "--data", str(tmp_path), "--out", str(tmp_path / "e")]) == 2
    assert "labels.csv:2: empty path" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["infer", str(tmp_path), str(tmp_path)]) == 2
    assert "pack.json" in capsys.readouterr().err


def test_a_corrupt_image_met_in_a_loader_worker_is_named(tmp_path, capsys):
    from training.synthetic import SyntheticSpec, write_dataset

    data = write_dataset(tmp_path / "d", SyntheticSpec(n_characters=2, per_character=4, size=32))
    for png in (data / "images").rglob("*.png"):
        png.write_bytes(b"broken")
    code = main(["train", "--dataset", "export", "--data", str(data), "--out", str(tmp_path / "r"),
                 "--model", "shallow", "--image-size", "32", "--workers", "1", "--epochs", "1",
                 "--batch-size", "2"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "cannot decode image" in err and ".png" in err and "Traceback" not in err
    assert main(["train", "--dataset", "export", "--data", str(data), "--out",
                 str(tmp_path / "r2"), "--heads", "character", "nonsense"]) == 2
    assert "unknown head 'nonsense'" in capsys.readouterr().err
