"""Does a ViLT model recognise synthetic characters better when their tags are given?

Trains a small ViLT (hidden 64, 4 blocks) on toy characters with --multimodal and prints
top-1 without tags (image only) and with the ground-truth tags (conditioned), and the tag
generation precision / recall / F1 / mAP, for each mask schedule named on the command line.
CPU only; the figures depend on the machine's load.

    python benchmarks/bench_vilt_tags.py OUT [--epochs 12] [--schedules bert cosine]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from training.config import TrainConfig
from training.multimodal_metrics import format_report
from training.multimodal_train import train_multimodal

SMALL = dict(hidden_size=64, num_layers=4, num_attention_heads=4, mlp_dim=128, patch_size=8)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--characters", type=int, default=12)
    parser.add_argument("--per-character", type=int, default=30)
    parser.add_argument("--schedules", nargs="+", default=["bert", "cosine"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    for schedule in args.schedules:
        started = time.monotonic()
        cfg = TrainConfig(
            dataset="synthetic", data=str(args.out / "data"), out=str(args.out / schedule),
            model="vilt_b16", image_size=32, resize_margin=4,
            synthetic_characters=args.characters, synthetic_per_character=args.per_character,
            synthetic_size=32, batch_size=32, workers=0, optimizer="adamw", lr=0.002,
            log_every=0, epochs=args.epochs, multimodal=True, max_text_seq_len=12,
            mask_schedule=schedule, shuffle_tokens=True,
        ).validate()  # fmt: skip
        result = train_multimodal(
            cfg, torch.device("cpu"), model_overrides=SMALL, say=lambda m: None
        )
        print(
            f"--- mask schedule {schedule}: {result.steps} steps, "
            f"{time.monotonic() - started:.0f} s"
        )
        print("\n".join(format_report(result.metrics)))


if __name__ == "__main__":
    main()
