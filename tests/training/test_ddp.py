"""Two CPU ranks under torchrun with the gloo backend: both finish, rank 0 alone writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

import training


def test_two_process_ddp_run_writes_one_checkpoint(tmp_path):
    project = Path(training.__file__).resolve().parents[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(project)}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "training.cli", "train", "--dataset", "synthetic", "--data", str(tmp_path / "data"),
        "--out", str(tmp_path / "run"), "--model", "shallow", "--image-size", "32",
        "--synthetic-characters", "3", "--synthetic-per-character", "12", "--synthetic-size",
        "32", "--batch-size", "4", "--epochs", "2", "--max-steps", "6", "--workers", "0",
        "--device", "cpu", "--log-every", "0",
    ]
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "rank 0/2 finished" in output and "rank 1/2 finished" in output
    run = tmp_path / "run"
    assert sorted(p.name for p in run.glob("*.pt")) == ["best.pt", "last.pt"]
    assert not list(run.glob("*.tmp"))
    epochs = [json.loads(line)["epoch"] for line in (run / "log.jsonl").read_text().splitlines()]
    assert epochs == sorted(set(epochs))  # one writer: no epoch logged twice
    ckpt = torch.load(run / "last.pt", weights_only=True)
    assert ckpt["step"] == 6
    assert not any(k.startswith("module.") for k in ckpt["state_dict"])
