"""`animesion-train explore DATASET`: what a data set looks like before training on it.

Writes class_histogram.png (images per character, sorted: the long tail), image_grid.png (a
seeded sample with labels), tags.png (most frequent general tags, when there are tags) and
stats.json (counts, per-class quantiles, image sizes, splits).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from training.data.images import load_rgb  # noqa: E402
from training.data.samples import LabelledSet  # noqa: E402
from training.data.sources import open_dataset  # noqa: E402
from training.data.splits import plan_splits  # noqa: E402


def _quantiles(values: list[int] | np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {}
    a = np.asarray(values)
    return {"min": int(a.min()), "median": float(np.median(a)), "mean": round(float(a.mean()), 2),
            "max": int(a.max())}


def image_sizes(ds: LabelledSet, limit: int, seed: int) -> dict[str, Any]:
    """Header-only reads (no decoding) of up to `limit` images."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(ds.samples), size=min(limit, len(ds.samples)), replace=False)
    widths: list[int] = []
    heights: list[int] = []
    formats: Counter[str] = Counter()
    unreadable = 0
    for i in chosen:
        try:
            with Image.open(ds.samples[i].path) as img:
                widths.append(img.width)
                heights.append(img.height)
                formats[img.format or "?"] += 1
        except OSError:
            unreadable += 1
    return {"sampled": len(chosen), "width": _quantiles(widths), "height": _quantiles(heights),
            "formats": dict(formats), "unreadable": unreadable}


def plot_histogram(counts: Counter, out: Path, title: str) -> None:
    ordered = counts.most_common()
    values = [n for _, n in ordered]
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(range(len(values)), values, width=1.0, color="#4477aa")
    if len(values) <= 40:
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels([name for name, _ in ordered], rotation=75, fontsize=7, ha="right")
    else:
        ax.set_xlabel("characters, most frequent first")
    if values and values[0] > 20 * max(1, values[-1]):
        ax.set_yscale("log")  # a long tail is invisible on a linear axis
    ax.set_ylabel("images")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def plot_grid(ds: LabelledSet, out: Path, n: int, seed: int, size: int = 96) -> None:
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(ds.samples), size=min(n, len(ds.samples)), replace=False)
    cols = int(np.ceil(np.sqrt(len(chosen))))
    rows = int(np.ceil(len(chosen) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 1.8), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, chosen, strict=False):
        sample = ds.samples[i]
        try:
            img = load_rgb(sample.path, size).resize((size, size))
        except Exception:  # an unreadable file shows as a gap, the summary counts it
            continue
        ax.imshow(img)
        ax.set_title((sample.character or "?")[:18], fontsize=6)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def plot_tags(tag_counts: Counter, out: Path, top: int = 30) -> None:
    ordered = tag_counts.most_common(top)
    fig, ax = plt.subplots(figsize=(8, max(3, len(ordered) * 0.22)))
    ax.barh([t for t, _ in ordered][::-1], [n for _, n in ordered][::-1], color="#aa7744")
    ax.set_xlabel("images")
    ax.set_title(f"{len(ordered)} most frequent general tags")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def explore(
    kind: str, data: str | Path | None, out: Path | str, *, grid: int = 36, seed: int = 0,
    size_sample: int = 2000, synthetic: dict | None = None,
) -> dict[str, Any]:
    ds = open_dataset(kind, data, synthetic=synthetic)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    characters = Counter(s.character for s in ds.samples if s.character)
    tags = Counter(t for s in ds.samples for t in (s.tags or ()))
    plan = plan_splits(ds, seed=seed)
    per_class = list(characters.values())
    stats: dict[str, Any] = {
        "kind": ds.kind,
        "root": str(ds.root),
        "images": len(ds.samples),
        "characters": len(characters),
        "declared_classes": len(ds.classes) if ds.classes else None,
        "images_per_character": _quantiles(per_class),
        "imbalance_ratio": round(max(per_class) / min(per_class), 2) if per_class else None,
        "classes_with_fewer_than_5_images": sum(1 for n in per_class if n < 5),
        "unlabelled_character": sum(1 for s in ds.samples if not s.character),
        "splits": {"source": plan.source, **plan.counts()},
        "tags": {"distinct": len(tags), "images_with_tags": sum(1 for s in ds.samples if s.tags),
                 "tags_per_image": _quantiles([len(s.tags) for s in ds.samples if s.tags]),
                 "most_common": tags.most_common(20)},
        "copyrights": len({s.copyright for s in ds.samples if s.copyright}),
        "ratings": dict(Counter(s.rating for s in ds.samples if s.rating)),
        "image_sizes": image_sizes(ds, size_sample, seed),
        "notes": ds.notes,
    }
    if characters:
        plot_histogram(characters, out / "class_histogram.png",
                       f"{ds.kind}: {len(ds.samples)} images, {len(characters)} characters")
    plot_grid(ds, out / "image_grid.png", grid, seed)
    if tags:
        plot_tags(tags, out / "tags.png")
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats
