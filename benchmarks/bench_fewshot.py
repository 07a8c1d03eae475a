"""Few-shot recognition benchmark: top-1 with 1, 5 and 10 labelled images per new character.

    .venv/bin/python benchmarks/bench_fewshot.py [--pack resources/packs/demo] [--per 30]
                                                 [--draws 5] [--real ../shared/data/moeimouto10]

For characters the pack never saw: (a) the synthetic generator's characters of another seed (the
demo pack was trained on seed 0's 20 characters; these are 20 others, ``--per`` pictures each),
(b) ../shared/data/moeimouto10 (10 real characters, ~97 faces each; skipped when absent; the
pack was not trained on it). For each set and each n in 1/5/10, ``--draws`` seeded draws pick n
images per character as the labels; every other image of those characters is a query; top-1 is
whether the nearest prototype (core/similar/fewshot.py) is its character, among all of them.

Embeddings compared:
- ``imagenet``: plain ImageNet EfficientNet-Lite0 features (1280-d, 224 px; no training on
  anime) when the efficientnet-lite0 wheel is installed (skipped otherwise);
- ``pack``: the pack's own penultimate embedding, as the tagging engine stores it;
- ``pack+imagenet``: both, each unit length, concatenated;
- the same with ``/w``: whitened by the labelled examples' within-character scatter (the
  head's default in the app; identical to plain with 1 example, which has no scatter).
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

Features = Callable[[Sequence[Image.Image]], np.ndarray]
SHOTS = (1, 5, 10)


def pack_features(pack_dir: Path) -> Features:
    from models.backends import open_predictor

    predictor = open_predictor(pack_dir, device="cpu", precision="fp32")

    def run(images: Sequence[Image.Image]) -> np.ndarray:
        out = []
        for start in range(0, len(images), 64):
            batch = np.stack([predictor.preprocess(im.convert("RGB"))
                              for im in images[start : start + 64]])
            emb = predictor.predict(batch).embedding
            assert emb is not None, "this pack gives no embedding"
            out.append(np.asarray(emb, dtype=np.float32))
        return np.concatenate(out)

    return run


def imagenet_features() -> Features | None:
    from models.pretrained import imagenet_available

    if not imagenet_available("efficientnet_lite0"):
        return None
    import torch

    from models.registry import create_model

    model = create_model("efficientnet_lite0", heads={"none": 1}, image_size=224,
                         pretrained="imagenet").eval()
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)

    def run(images: Sequence[Image.Image]) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), 32):
                arr = np.stack([
                    (np.asarray(im.convert("RGB").resize((224, 224), Image.Resampling.BILINEAR),
                                dtype=np.float32) / 255.0 - mean) / std
                    for im in images[start : start + 32]]).transpose(0, 3, 1, 2)
                out.append(model.forward_features(torch.from_numpy(arr)).numpy())
        return np.concatenate(out)

    return run


def synthetic_set(per: int) -> tuple[list[Image.Image], list[str]]:
    from training.synthetic import generate

    images, labels = [], []
    for toy in generate(20, per, size=64, seed=1, image_seed=77):  # seed 1: not the pack's
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


def top1(x: np.ndarray, labels: np.ndarray, shots: int, draws: int, whiten: bool) -> float:
    scores = []
    for draw in range(draws):
        rng = np.random.default_rng(draw)
        support = np.zeros(len(labels), dtype=bool)
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            support[rng.choice(members, min(shots, len(members) - 1), replace=False)] = True
        head = from_examples(x[support], labels[support].tolist(), whiten=whiten)
        best, _conf = head.predict(x[~support])
        guessed = np.asarray(head.tags, dtype=object)[best]
        scores.append(float(np.mean(guessed == labels[~support])))
    return 100.0 * float(np.mean(scores))


def report(name: str, columns: dict[str, np.ndarray], labels: list[str], draws: int) -> None:
    y = np.asarray(labels, dtype=object)
    print(f"\n{name}: {len(set(labels))} characters, {len(labels)} images; top-1 % "
          f"(mean of {draws} draws) with 1 / 5 / 10 labelled images per character")
    for col, x in columns.items():
        for whiten in (False, True):
            figures = " / ".join(f"{top1(x, y, n, draws, whiten):5.1f}" for n in SHOTS)
            print(f"  {col + ('/w' if whiten else ''):<18} {figures}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pack", type=Path, default=Path("resources/packs/demo"))
    ap.add_argument("--per", type=int, default=30)
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--real", type=Path, default=Path("../shared/data/moeimouto10"))
    args = ap.parse_args()
    print(f"pack {args.pack}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    pack = pack_features(args.pack)
    imagenet = imagenet_features()
    if imagenet is None:
        print("(no efficientnet-lite0 wheel: the imagenet columns are skipped)")
    sets = [("synthetic held-out characters", lambda: synthetic_set(args.per))]
    if args.real.is_dir():
        sets.append((f"{args.real.name} (real)", lambda: real_set(args.real)))
    else:
        print(f"({args.real}: absent, the real set is skipped)")
    for name, load in sets:
        t = time.perf_counter()
        images, labels = load()
        columns = {"pack": pack(images)}
        if imagenet is not None:
            columns["imagenet"] = imagenet(images)
            columns["pack+imagenet"] = np.concatenate(
                [normalize(columns["pack"]), normalize(columns["imagenet"])], axis=1)
        print(f"({name}: features in {time.perf_counter() - t:.0f} s; pack embedding "
              f"{columns['pack'].shape[1]}-d)")
        report(name, columns, labels, args.draws)


if __name__ == "__main__":
    main()
