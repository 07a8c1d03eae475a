"""Prints predictor throughput (images/s) with and without the CPU fast paths.

Random-weight packs of real architectures at 128 px are written to a temporary folder; the
figures are for comparing fast paths on this machine, never asserted anywhere.
Usage: python benchmarks/bench_models_predictors.py [--models vit_b16 resnet50] [--batch 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from models.backends import open_predictor
from models.labels import Label
from models.pack import write_pack
from models.registry import create_model
from models.spec import HeadSpec, InputSpec


def bench(name: str, batch: int, rounds: int, folder: Path) -> None:
    torch.manual_seed(0)
    model = create_model(name, heads={"character": 100}, ifa=name.startswith("vit"))
    labels = tuple(Label(f"c{i}", "character", 0.5) for i in range(100))
    pack = write_pack(
        folder / name,
        name=name,
        backend="torch",
        model=model,
        heads=[HeadSpec("character", "softmax", labels)],
        input_spec=InputSpec(size=128),
    )
    x = np.random.default_rng(0).normal(size=(batch, 3, 128, 128)).astype(np.float32)
    top1 = {}
    for optimize in (False, True):
        predictor = open_predictor(pack, device="cpu", optimize=optimize)
        predictor.predict(x)  # warm-up
        start = time.perf_counter()
        for _ in range(rounds):
            out = predictor.predict(x)
        rate = batch * rounds / (time.perf_counter() - start)
        top1[optimize] = out.heads["character"].argmax(1)
        print(f"{name:16s} {predictor.device_description:60s} {rate:8.1f} img/s")
    print(f"{name:16s} top-1 agreement fast vs fp32: {(top1[True] == top1[False]).mean():.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=["vit_b16", "resnet50", "efficientnet_b0"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            bench(name, args.batch, args.rounds, Path(tmp))


if __name__ == "__main__":
    main()
