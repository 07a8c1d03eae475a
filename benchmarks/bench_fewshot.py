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
- ``identity/w``: the same, whitened (what the app's head does when a pack has an adapter);
- ``imagenet+colour/w``, ``pack+imagenet+colour/w``: the same with the picture's colour
  descriptor (core/similar/colour.py: hue/saturation/value histograms of the centre and of its
  upper half, Hellinger-mapped) concatenated with a weight; the weight is chosen among
  :data:`WEIGHTS` by 5-shot top-1 on the characters NOT measured (the other half; the 20
  known toy characters for the synthetic set), never on the evaluated ones;
- ``pack+imagenet/w+flip``, ``pack+imagenet+colour/w+flip``: flip test-time augmentation, each
  embedding the mean of the picture's and its mirror's (the colour descriptor is symmetric);
- ``pack+imagenet+mid/w``: mid-level ImageNet features (stages 4 and 5 of Lite0, 80 + 112
  channels, average-pooled, each unit) concatenated the same way, weight chosen the same way;
- ``pack+imagenet+colour+mid/w+flip``: all three at once (each with its own chosen weight; the
  mid-level part of the picture only, not of its mirror).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from animesion_desktop.core.similar import colour
from animesion_desktop.core.similar.fewshot import from_examples
from animesion_desktop.core.similar.vectors import normalize
from training.metric import (
    MetricConfig,
    embed_views,
    imagenet_features,
    imagenet_stages,
    pack_features,
    train_adapter,
)

SHOTS = (1, 5, 10)
WEIGHTS = (0.25, 0.5, 0.75, 1.0, 1.5)  # of a unit extra part beside the unit base
PICK_DRAWS = 5
MID = ((80, 112), (112, 224))  # Lite0 stages 4 and 5 in the 784 pooled channels of all 7
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


@dataclass(frozen=True)
class Parts:
    """Every embedding of one set of pictures."""

    clean: np.ndarray  # [N, dp + 1280] unit pack | unit ImageNet
    views: np.ndarray  # [N, V, dp + 1280] augmented copies (V = 0 for a measured set)
    colour: np.ndarray  # [N, colour.DIM]
    mid: np.ndarray  # [N, 784] pooled stages of ImageNet Lite0
    labels: np.ndarray
    flip: np.ndarray | None = None  # [N, dp + 1280] of the mirrored pictures

    def subset(self, keep: np.ndarray) -> Parts:
        return Parts(self.clean[keep], self.views[keep], self.colour[keep], self.mid[keep],
                     self.labels[keep], None if self.flip is None else self.flip[keep])


def mid_level(stages: np.ndarray) -> np.ndarray:
    return normalize(np.concatenate([normalize(stages[:, a:b]) for a, b in MID], axis=1))


def extra(base: np.ndarray, part: np.ndarray, weight: float) -> np.ndarray:
    """[unit base | weight * unit part] (the app's head: [unit pack embedding | weight *
    colour descriptor])."""
    return np.concatenate([normalize(base), weight * normalize(part)], axis=1)


def mirrored(clean: np.ndarray, flip: np.ndarray, dp: int) -> np.ndarray:
    """Flip test-time augmentation: each part the unit mean of the picture's and its mirror's."""
    return np.concatenate([normalize(clean[:, :dp] + flip[:, :dp]),
                           normalize(clean[:, dp:] + flip[:, dp:])], axis=1)


def pick_weight(base: np.ndarray, part: np.ndarray, labels: np.ndarray) -> float:
    """The weight of ``part`` with the best whitened 5-shot top-1 on these (not measured)
    characters."""
    scores = [float(np.mean(top1(extra(base, part, w), labels, 5, PICK_DRAWS, True)))
              for w in WEIGHTS]
    return WEIGHTS[int(np.argmax(scores))]


def columns(x: Parts, dp: int, adapter: Embed, weights: dict[str, float]) -> dict[str, tuple]:
    """name -> (vectors, whiten, adapter) of every compared embedding."""
    imagenet = x.clean[:, dp:]
    out = {
        "imagenet": (imagenet, False, None),
        "imagenet/w": (imagenet, True, None),
        "pack+imagenet/w": (x.clean, True, None),
        "identity": (imagenet, False, adapter),
        "identity/w": (imagenet, True, adapter),
        "imagenet+colour/w": (extra(normalize(imagenet), x.colour, weights["imagenet+colour"]),
                              True, None),
        "pack+imagenet+colour/w": (extra(x.clean, x.colour, weights["colour"]), True, None),
        "pack+imagenet+mid/w": (extra(x.clean, mid_level(x.mid), weights["mid"]), True, None),
    }
    if x.flip is not None:
        both_ways = mirrored(x.clean, x.flip, dp)
        out["pack+imagenet/w+flip"] = (both_ways, True, None)
        out["pack+imagenet+colour/w+flip"] = (extra(both_ways, x.colour, weights["colour"]),
                                              True, None)
        stacked = np.concatenate([extra(both_ways, x.colour, weights["colour"]),
                                  weights["mid"] * mid_level(x.mid)], axis=1)
        out["pack+imagenet+colour+mid/w+flip"] = (stacked, True, None)
    return out


def print_table(title: str, scores: dict[str, dict[int, list[float]]]) -> None:
    print(title)
    for name, by_shots in scores.items():
        figures = " / ".join(f"{100 * np.mean(by_shots[n]):5.1f}" for n in SHOTS)
        print(f"  {name:<28} {figures} %")


def evaluate(train: Parts, test: Parts, dp: int, cfg: MetricConfig, draws: int,
             scores: dict[str, dict[int, list[float]]]) -> tuple[float, dict[str, float]]:
    """Train the adapter and pick the extra parts' weights on ``train``, score every column on
    ``test`` into ``scores``; returns the adapter's training seconds and the weights."""
    t = time.perf_counter()
    adapter = train_adapter(train.clean[:, dp:], train.views[:, :, dp:], train.labels.tolist(),
                            cfg)
    seconds = time.perf_counter() - t
    weights = {
        "imagenet+colour": pick_weight(normalize(train.clean[:, dp:]), train.colour,
                                       train.labels),
        "colour": pick_weight(train.clean, train.colour, train.labels),
        "mid": pick_weight(train.clean, mid_level(train.mid), train.labels),
    }
    for name, (vecs, whiten, adapt) in columns(test, dp, adapter, weights).items():
        row = scores.setdefault(name, {n: [] for n in SHOTS})
        for n in SHOTS:
            row[n].extend(top1(vecs, test.labels, n, draws, whiten, adapt))
    return seconds, weights


def parts(name: str, images: list[Image.Image], labels: list[str], extract: Callable,
          stages: Callable, views: int, cache: Path | None, flip: bool) -> Parts:
    clean, augmented = embedded(name, images, labels, extract, views, cache)
    mid, _ = embedded(f"{name}-mid", images, labels, stages, 0, cache)
    mirror = None
    if flip:
        flipped = [im.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for im in images]
        mirror, _ = embedded(f"{name}-flip", flipped, labels, extract, 0, cache)
    return Parts(clean, augmented, colour.descriptors(images), mid,
                 np.asarray(labels, dtype=object), mirror)


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
    stages = imagenet_stages()
    print(f"identity adapter: {cfg}")

    # synthetic: trained on the pack's own 20 characters, measured on 20 others
    known = synthetic_set(20, args.per, seed=0, image_seed=5)
    new = synthetic_set(20, args.per, seed=1, image_seed=77)
    known_parts = parts("synthetic-known", *known, extract, stages, args.views, args.cache,
                        flip=False)
    new_parts = parts("synthetic-new", *new, extract, stages, 0, args.cache, flip=True)
    scores: dict[str, dict[int, list[float]]] = {}
    secs, weights = evaluate(known_parts, new_parts, dp, cfg, args.draws, scores)
    print(f"weights of the extra parts, chosen on the 20 known toy characters: {weights}")
    print_table(f"\nsynthetic: adapter trained on 20 known toy characters ({len(known[0])} "
                f"images, {secs:.0f} s); top-1 on 20 NEW characters, 20-way, {len(new[0])} "
                f"images; mean of {args.draws} draws; 1 / 5 / 10 labelled per character", scores)

    if not args.real.is_dir():
        print(f"\n({args.real}: absent, the real set is skipped)")
        return
    images, labels = real_set(args.real)
    y = np.asarray(labels, dtype=object)
    real = parts(args.real.name, images, labels, extract, stages, args.views, args.cache,
                 flip=True)
    names = sorted(set(labels))
    halves = [names[0::2], names[1::2]]
    scores = {}
    secs_all = []
    for known_half, new_half in ((halves[0], halves[1]), (halves[1], halves[0])):
        k = np.isin(y, known_half)
        n = np.isin(y, new_half)
        secs, weights = evaluate(real.subset(k), real.subset(n), dp, cfg, args.draws, scores)
        secs_all.append(secs)
        print(f"  fold: adapter trained and weights {weights} chosen on "
              f"{', '.join(known_half)} ({int(k.sum())} images, {secs:.0f} s); "
              f"new: {', '.join(new_half)} ({int(n.sum())} images)")
    print_table(f"\n{args.real.name} (real, {len(names)} characters, {len(labels)} images): "
                f"top-1 on the 5 characters the adapter never saw, 5-WAY (not 20), mean of "
                f"2 folds x {args.draws} draws; 1 / 5 / 10 labelled per character", scores)
    print(f"load average at the end {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
