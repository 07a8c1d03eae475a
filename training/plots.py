"""PNG figures: training curves and precision-recall curves per head (Illustration2Vec picked
its model from per-head precision and recall; these are the same views)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never open a window (also safe in worker processes)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _series(records: list[dict[str, Any]], *path: str) -> list[float]:
    values = []
    for r in records:
        v: Any = r
        for key in path:
            v = v.get(key) if isinstance(v, dict) else None
        values.append(np.nan if v is None else float(v))
    return values


def plot_curves(records: list[dict[str, Any]], out: Path) -> None:
    """curves.png: loss, top-1, per-head precision and per-head recall against epochs."""
    if not records:
        return
    epochs = [r["epoch"] for r in records]
    heads = list(records[-1].get("val", {}))
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    ax = axes[0][0]
    ax.plot(epochs, _series(records, "train_loss"), "o-", label="train")
    ax.plot(epochs, _series(records, "val_loss"), "o-", label="val")
    ax.set_title("loss")
    ax = axes[0][1]
    ax.plot(epochs, _series(records, "train_top1"), "o--", label="train character")
    for head in heads:
        if "top1" in records[-1]["val"][head]:
            ax.plot(epochs, _series(records, "val", head, "top1"), "o-", label=f"val {head}")
    ax.set_title("top-1 accuracy")
    ax.set_ylim(0, 1.02)
    for ax, metric in ((axes[1][0], "precision"), (axes[1][1], "recall")):
        for head in heads:
            ax.plot(epochs, _series(records, "val", head, metric), "o-", label=head)
        ax.set_title(f"val {metric} per head (general: micro, at 0.5)")
        ax.set_ylim(0, 1.02)
    for ax in axes.flat:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def plot_pr_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], out: Path) -> None:
    """pr_curves.png: one precision-recall curve per head."""
    if not curves:
        return
    fig, ax = plt.subplots(figsize=(6, 5))
    for head, (precision, recall) in curves.items():
        ax.plot(recall, precision, label=head)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("precision / recall per head")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
