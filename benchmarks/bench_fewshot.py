"""Few-shot recognition benchmark: top-1 with 1, 5 and 10 labelled images per NEW character.

    .venv/bin/python benchmarks/bench_fewshot.py [--pack resources/packs/demo] [--draws 10]
        [--views 4] [--real ../shared/data/moeimouto10] [--cache DIR]

The protocol, for characters no embedding saw:

- **real** (../shared/data/moeimouto10, 10 characters, ~97 face crops each; skipped when
  absent; dev/eval only): the characters are split in two halves of 5. The identity adapter is
  trained on one half (the characters "already labelled" in the library, all their images),
  then few-shot top-1 is measured on the OTHER half: n in 1/5/10 images per character are the
  labels, every other image of those 5 characters is a query, and the nearest prototype among
  the 5 must be its character (5-way). Then the halves swap; figures are the mean over both
  folds and ``--draws`` seeded draws of the labelled images.
- **synthetic**: the adapter is trained on the demo pack's 20 toy characters (seed 0, fresh
  pictures); few-shot top-1 is measured on 20 other characters (seed 1), 20-way.

Embeddings, all on the same draws:

- ``imagenet``: plain ImageNet EfficientNet-Lite0 features (pooled 1280-d, 224 px);
- ``imagenet/w``: the same, whitened by the labelled examples' within-character scatter;
- ``pack+imagenet/w``: the demo pack's embedding and ImageNet's, concatenated and whitened
  (the previous default of the app's head);
- ``identity``: ImageNet features through the identity adapter (models/identity.py, trained by
  training/metric.py: supervised contrastive + instance term, strong augmentation);
- ``identity/w``: the same, whitened (what the app's head does when a pack has an adapter).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from animesion_desktop.core.similar.fewshot import from_examples
from animesion_desktop.core.similar.vectors import normalize
from training.metric import (
    MetricConfig,
    embed_views,
    imagenet_features,
    pack_features,
    train_adapter,
)

SHOTS = (1, 5, 10)
Embed = Callable[[np.ndarray], np.ndarray]


def synthetic_set(n: int, per: int, seed: int, image_seed: int
                  ) -> tuple[list[Image.Image], list[str]]:
    from training.synthetic import generate

    images, labels = [], []
    for toy in generate(n, per, size=64, seed=seed, image_seed=image_seed):
        images.append(toy.image)
        labels.append(toy.character.name)
    return images, labels


def real_set(folder: Path) -> tuple[list[Image.Image], list[str]]:
    images, labels = [], []
    for character in sorted(p for p in folder.iterdir() if p.is_dir() and p.name[0] != "_"):
        for f in sorted(character.iterdir()):
            if f.suffix.lower() in (".png", ".jpg", ".jpeg"):
                with Image.open(f) as im:
                    images.append(im.convert("RGB"))
                labels.append(character.name)
    return images, labels


def both(pack: Callable, imagenet: Callable) -> tuple[Callable, int]:
    """One extractor giving [unit pack | unit imagenet] (the augmented pictures are drawn once
    for both), and the width of the pack part."""
    probe = pack([Image.new("RGB", (64, 64), "white")])
    dp = int(probe.shape[1])

    def run(images: Sequence[Image.Image]) -> np.ndarray:
        return np.concatenate([normalize(pack(images)), normalize(imagenet(images))], axis=1)

    return run, dp


def embedded(name: str, images: list[Image.Image], labels: list[str], extract: Callable,
             views: int, cache: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """Clean and augmented embeddings, cached in ``cache`` (outside the repository) if given."""
    if cache is not None:
        path = cache / f"{name}-{len(images)}-v{views}.npz"
        if path.is_file():
            with np.load(path) as z:
                return z["clean"], z["views"]
    t = time.perf_counter()
    clean, augmented = embed_views(images, extract, views, seed=1)
    print(f"({name}: {len(images)} images x {1 + views} views embedded in "
          f"{time.perf_counter() - t:.0f} s)")
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(path, clean=clean, views=augmented)
    return clean, augmented


def top1(x: np.ndarray, labels: np.ndarray, shots: int, draws: int, whiten: bool,
         adapter: Embed | None = None) -> list[float]:
    out = []
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        support = np.zeros(len(labels), dtype=bool)
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            support[rng.choice(members, min(shots, len(members) - 1), replace=False)] = True
        head = from_examples(x[support], labels[support].tolist(), whiten=whiten,
                             adapter=adapter)
        best, _conf, _cos = head.predict(x[~support])
        guessed = np.asarray(head.tags, dtype=object)[best]
        out.append(float(np.mean(guessed == labels[~support])))
    return out


def columns(clean: np.ndarray, dp: int, adapter: Embed) -> dict[str, tuple]:
    """name -> (vectors, whiten, adapter) of every compared embedding."""
    imagenet = clean[:, dp:]
    return {
        "imagenet": (imagenet, False, None),
        "imagenet/w": (imagenet, True, None),
        "pack+imagenet/w": (clean, True, None),
        "identity": (imagenet, False, adapter),
        "identity/w": (imagenet, True, adapter),
    }


def print_table(title: str, scores: dict[str, dict[int, list[float]]]) -> None:
    print(title)
    for name, by_shots in scores.items():
        figures = " / ".join(f"{100 * np.mean(by_shots[n]):5.1f}" for n in SHOTS)
        print(f"  {name:<16} {figures} %")


def evaluate(train: tuple[np.ndarray, np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray],
             dp: int, cfg: MetricConfig, draws: int,
             scores: dict[str, dict[int, list[float]]]) -> float:
    """Train the adapter on ``train`` (clean, views, labels), score every column on ``test``
    (clean, labels) into ``scores``; returns the adapter's training seconds."""
    clean, views, labels = train
    t = time.perf_counter()
    adapter = train_adapter(clean[:, dp:], views[:, :, dp:], labels.tolist(), cfg)
    seconds = time.perf_counter() - t
    x, y = test
    for name, (vecs, whiten, adapt) in columns(x, dp, adapter).items():
        row = scores.setdefault(name, {n: [] for n in SHOTS})
        for n in SHOTS:
            row[n].extend(top1(vecs, y, n, draws, whiten, adapt))
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pack", type=Path, default=Path("resources/packs/demo"))
    ap.add_argument("--per", type=int, default=30, help="synthetic pictures per character")
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--views", type=int, default=4, help="augmented copies per training image")
    ap.add_argument("--steps", type=int, default=MetricConfig.steps)
    ap.add_argument("--real", type=Path, default=Path("../shared/data/moeimouto10"))
    ap.add_argument("--cache", type=Path, help="keep embeddings here between runs (not in git)")
    args = ap.parse_args()
    cfg = MetricConfig(steps=args.steps)
    print(f"pack {args.pack}; {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} (shared machine)")
    extract, dp = both(pack_features(args.pack), imagenet_features())
    print(f"identity adapter: {cfg}")

    # synthetic: trained on the pack's own 20 characters, measured on 20 others
    known = synthetic_set(20, args.per, seed=0, image_seed=5)
    new = synthetic_set(20, args.per, seed=1, image_seed=77)
    kc, kv = embedded("synthetic-known", *known, extract, args.views, args.cache)
    nc, _nv = embedded("synthetic-new", *new, extract, 0, args.cache)
    scores: dict[str, dict[int, list[float]]] = {}
    secs = evaluate((kc, kv, np.asarray(known[1], dtype=object)),
                    (nc, np.asarray(new[1], dtype=object)), dp, cfg, args.draws, scores)
    print_table(f"\nsynthetic: adapter trained on 20 known toy characters ({len(known[0])} "
                f"images, {secs:.0f} s); top-1 on 20 NEW characters, 20-way, {len(new[0])} "
                f"images; mean of {args.draws} draws; 1 / 5 / 10 labelled per character", scores)

    if not args.real.is_dir():
        print(f"\n({args.real}: absent, the real set is skipped)")
        return
    images, labels = real_set(args.real)
    y = np.asarray(labels, dtype=object)
    clean, views = embedded(args.real.name, images, labels, extract, args.views, args.cache)
    names = sorted(set(labels))
    halves = [names[0::2], names[1::2]]
    scores = {}
    secs_all = []
    for known_half, new_half in ((halves[0], halves[1]), (halves[1], halves[0])):
        k = np.isin(y, known_half)
        n = np.isin(y, new_half)
        secs_all.append(evaluate((clean[k], views[k], y[k]), (clean[n], y[n]), dp, cfg,
                                 args.draws, scores))
        print(f"  fold: adapter trained on {', '.join(known_half)} ({int(k.sum())} images, "
              f"{secs_all[-1]:.0f} s); new: {', '.join(new_half)} ({int(n.sum())} images)")
    print_table(f"\n{args.real.name} (real, {len(names)} characters, {len(labels)} images): "
                f"top-1 on the 5 characters the adapter never saw, 5-WAY (not 20), mean of "
                f"2 folds x {args.draws} draws; 1 / 5 / 10 labelled per character", scores)
    print(f"load average at the end {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
