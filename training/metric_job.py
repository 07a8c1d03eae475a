"""`animesion-train metric PACK --dataset export --data DIR`: the identity adapter of a pack.

Reads the labelled images of a data set (an export of the library is what the app makes),
embeds each with the pack, as it is and under augmentation, trains the adapter
(training/metric.py) and writes it beside the pack's weights as ``identity.safetensors``,
where the few-shot head finds it (core/similar/fewshot.py). The metadata names the pack and the
sha256 of its weights, so an adapter is never applied to embeddings of other weights.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from models.identity import FILE_NAME, IdentityInfo
from models.pack import load_pack, weights_sha256
from training.data.images import load_rgb
from training.data.sources import fingerprint, open_dataset
from training.errors import DataError, TrainingError
from training.metric import (
    MetricConfig,
    embed_views,
    pack_features,
    train_adapter,
)

MIN_PER_CHARACTER = 2  # one image has no variation to learn from


def train_for_pack(pack_dir: Path, kind: str, data: Path | str, *, out: Path | None = None,
                   views: int = 4, cfg: MetricConfig | None = None,
                   log: Callable[[str], None] = print) -> Path:
    """Train and write the adapter; returns the file written."""
    cfg = cfg or MetricConfig()
    if not Path(pack_dir).is_dir():
        raise TrainingError(f"{pack_dir}: not a pack folder (give an installed or exported pack)")
    pack = load_pack(pack_dir)
    sha = weights_sha256(Path(pack_dir))
    ds = open_dataset(kind, data)
    counts: dict[str, int] = {}
    for s in ds.samples:
        if s.character:
            counts[s.character] = counts.get(s.character, 0) + 1
    keep = {c for c, k in counts.items() if k >= MIN_PER_CHARACTER}
    if len(keep) < 2:
        raise DataError(f"needs at least two characters with {MIN_PER_CHARACTER}+ labelled "
                        f"images (found {len(keep)})", ds.root)
    images, labels = [], []
    for s in ds.samples:
        if s.character in keep:
            try:
                images.append(load_rgb(s.path, min_side=256))
            except DataError as exc:  # one bad file is named and skipped
                log(f"skipped: {exc}")
                continue
            labels.append(s.character)
    log(f"{len(images)} images of {len(keep)} characters; embedding each with {pack.name} "
        f"as it is and {views} augmented times")
    t = time.perf_counter()
    features = pack_features(Path(pack_dir))
    clean, augmented = embed_views(
        images, features, views, seed=cfg.seed,
        progress=lambda done, total: log(f"embedded {done}/{total}"))
    log(f"embeddings in {time.perf_counter() - t:.0f} s; training the adapter")
    info = IdentityInfo(input_dim=int(clean.shape[1]), hidden=cfg.hidden, features="pack",
                        pack_name=pack.name, pack_sha256=sha,
                        training={"data_fingerprint": fingerprint(ds), "dataset": kind})
    adapter = train_adapter(clean, augmented, labels, cfg, info, log=log)
    target = out or Path(pack_dir) / FILE_NAME
    adapter.save(target)
    log(f"wrote {target}")
    return target
