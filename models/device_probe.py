"""Which device a device setting implies, asked of a child process.

Answering means importing torch (a second or more of work that holds the interpreter lock
throughout) and perhaps probing a GPU. The desktop app asks at start-up, just when the user
starts scrolling its grid; every event its GUI thread handled then waited for that lock (a
stall of 350-450 ms). A child process answers without touching this interpreter. Once torch
is loaded here anyway (a tag job ran), the answer is found in-process, and answers are kept
per setting: the devices of a machine do not change while the app runs.

    python -m models.device_probe auto     ->  {"type": "cpu", "name": null}
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

Answer = tuple[str, str | None]  # (device type, CUDA device name or None)
TIMEOUT_S = 120.0

_answers: dict[str, Answer] = {}
_lock = threading.Lock()


def implied_device(setting: str) -> Answer:
    """(device type, CUDA name or None) that ``setting`` (auto, cpu, cuda, cuda:N, mps) runs
    on; ("<setting> (unavailable)", None) when an explicit device cannot be used."""
    with _lock:
        if setting not in _answers:
            _answers[setting] = _probe(setting) if "torch" in sys.modules else _ask_child(setting)
        return _answers[setting]


def _probe(setting: str) -> Answer:
    import torch

    from models.device import DeviceError, select_device

    try:
        chosen = select_device(None if setting == "auto" else setting).torch_device
    except DeviceError:
        return f"{setting} (unavailable)", None
    name = str(torch.cuda.get_device_name(chosen)) if chosen.type == "cuda" else None
    return chosen.type, name


def _ask_child(setting: str) -> Answer:
    # The child must find this package wherever the app was started from.
    here = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (here, os.environ.get("PYTHONPATH", "")) if p))
    done = subprocess.run([sys.executable, "-m", "models.device_probe", setting], env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise RuntimeError(f"finding the device failed: {last}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return str(answer["type"]), answer["name"]


def main(argv: list[str]) -> int:
    kind, name = _probe(argv[0] if argv else "auto")
    print(json.dumps({"type": kind, "name": name}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
