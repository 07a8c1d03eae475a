"""The few-shot prototype head: user-defined characters recognised from a handful of labels.

Each character the user has accepted on images that have an embedding of the pack gets a
prototype: the normalised mean of those embeddings. An image's scores are its cosines to every
prototype; its confidence is a softmax over them (temperature :data:`TEMPERATURE`), so a image
close to two prototypes gets a low confidence. Optionally the space is first whitened by the
within-character scatter of the labelled examples (shrunk towards the identity), which down-
weights directions that vary inside one character (pose, background) and is the cheap form of
metric learning on what the user labelled: closed form, so the head follows every label change
without training.

When the pack carries an identity adapter (``identity.safetensors`` in its folder, trained by
``animesion-train metric`` on the characters already labelled; models/identity.py), every
embedding goes through it first: a metric learned for *who* is drawn, which the whitening then
refines with the current labels.

:func:`update` stores the head's best guess per image as ``fewshot`` suggestions (not labels),
for images with no decision on that tag and a confidence of at least ``min_confidence``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text

from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.core.library import Library
from animesion_desktop.core.similar import suggestions
from animesion_desktop.core.similar.identity import pack_adapter
from animesion_desktop.core.similar.index import SimilarIndex
from animesion_desktop.core.similar.vectors import normalize

TEMPERATURE = 0.05
MIN_CONFIDENCE = 0.5
# A softmax is sure of anything when only one character is known: an image must also be this
# close (cosine) to the prototype to be suggested at all.
MIN_COSINE = 0.5
SHRINK = 0.5  # weight of the identity in the whitening (few examples: a noisy scatter)

Embed = Callable[[np.ndarray], np.ndarray]  # [N, D] stored embeddings -> [N, D''] vectors


@dataclass(frozen=True)
class PrototypeHead:
    tags: list[str]
    prototypes: np.ndarray  # [C, D'] unit, in the (possibly whitened) space
    counts: list[int]
    transform: np.ndarray | None = None  # [D, D'] whitening, or None
    adapter: Embed | None = None  # the pack's identity adapter, applied before all else

    def project(self, vectors: np.ndarray) -> np.ndarray:
        x = normalize(vectors if self.adapter is None else self.adapter(vectors))
        return x if self.transform is None else normalize(x @ self.transform)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """[N, C] cosine of each image to each prototype."""
        return np.asarray(self.project(vectors) @ self.prototypes.T)

    def predict(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(best prototype index [N], confidence [N], cosine to that prototype [N])."""
        cos = self.scores(vectors)
        s = cos / TEMPERATURE
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        best = p.argmax(axis=1)
        rows = np.arange(len(best))
        return best, p[rows, best], cos[rows, best]


def _whitening(x: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """Inverse square root of the shrunk within-class scatter, or None with too few examples."""
    centred = []
    for c in np.unique(labels):
        members = x[labels == c]
        if len(members) > 1:
            centred.append(members - members.mean(axis=0))
    if not centred:
        return None
    z = np.concatenate(centred).astype(np.float64)
    dim = x.shape[1]
    scale = float(np.sum(z * z)) / len(z) / dim or 1.0  # trace of the scatter / dim
    if len(z) >= dim:
        scatter = (z.T @ z) / len(z)
        shrunk = (1 - SHRINK) * scatter + SHRINK * scale * np.eye(dim)
        values, vectors = np.linalg.eigh(shrunk)
        return np.asarray((vectors / np.sqrt(np.maximum(values, 1e-12))) @ vectors.T,
                          dtype=np.float32)
    # Fewer examples than dimensions (the usual case): the scatter has rank < len(z), so the
    # same matrix comes from the thin SVD of z, without a D x D eigendecomposition.
    _u, sing, vt = np.linalg.svd(z, full_matrices=False)  # vt: [r, D]
    base = (SHRINK * scale) ** -0.5  # on the directions the examples do not span
    along = ((1 - SHRINK) * sing**2 / len(z) + SHRINK * scale) ** -0.5 - base
    return np.asarray(base * np.eye(dim) + (vt.T * along) @ vt, dtype=np.float32)


def from_examples(vectors: np.ndarray, labels: Sequence[str], *, whiten: bool = False,
                  adapter: Embed | None = None) -> PrototypeHead:
    """A head from labelled embeddings (one label per row), through ``adapter`` if given."""
    x = normalize(vectors if adapter is None else adapter(vectors))
    lab = np.asarray(labels, dtype=object)
    transform = _whitening(x, lab) if whiten else None
    if transform is not None:
        x = normalize(x @ transform)
    tags = sorted(set(labels))
    protos = np.stack([normalize(x[lab == t].mean(axis=0)) for t in tags])
    return PrototypeHead(tags, protos, [int((lab == t).sum()) for t in tags], transform,
                         adapter)


def build_head(lib: Library, pack_id: int, *, whiten: bool = True, identity: bool = True
               ) -> PrototypeHead | None:
    """The head from the library's accepted character labels (None if there are none);
    through the pack's identity adapter when it has a usable one (``identity``)."""
    with lib.read() as s:
        rows = s.execute(text(
            "SELECT l.image_id, t.category || ':' || t.name FROM labels l "
            "JOIN tags t ON t.id = l.tag_id WHERE l.state = 'accepted' AND "
            "t.category = 'character'")).all()
    by_image: dict[int, list[str]] = {}
    for image_id, tag in rows:
        by_image.setdefault(int(image_id), []).append(str(tag))
    index = SimilarIndex(lib, pack_id)
    ids, vecs = index.vectors(by_image)
    if not len(ids):
        return None
    rows_x, rows_y = [], []
    for i, v in zip(ids.tolist(), vecs, strict=True):
        for tag in by_image[i]:  # an image of two characters is an example of both
            rows_x.append(v)
            rows_y.append(tag)
    adapter = pack_adapter(lib, pack_id, dim=int(vecs.shape[1])) if identity else None
    return from_examples(np.stack(rows_x), rows_y, whiten=whiten, adapter=adapter)


def update(lib: Library, pack_id: int, cancel: threading.Event | None = None, *,
           min_confidence: float = MIN_CONFIDENCE, min_cosine: float = MIN_COSINE,
           whiten: bool = True, identity: bool = True) -> Job[int]:
    """Rewrite the ``fewshot`` suggestions from the current labels. Returns how many."""
    cancel = cancel or threading.Event()
    head = build_head(lib, pack_id, whiten=whiten, identity=identity)
    rows: list[tuple[int, str, float]] = []
    if head is not None:
        with lib.read() as s:
            decided = {(int(i), str(t)) for i, t in s.execute(text(
                "SELECT l.image_id, t.category || ':' || t.name FROM labels l "
                "JOIN tags t ON t.id = l.tag_id WHERE t.category = 'character'"))}
            user_named = {i for i, _t in decided}
            all_ids = [int(i) for (i,) in s.execute(text(
                "SELECT image_id FROM embeddings WHERE pack_id = :p ORDER BY image_id"),
                {"p": pack_id})]
        index = SimilarIndex(lib, pack_id)
        for start in range(0, len(all_ids), 20_000):
            if cancel.is_set():
                return 0
            ids, vecs = index.vectors(all_ids[start : start + 20_000])
            if len(ids):
                best, conf, cos = head.predict(vecs)
                for i, b, c, near in zip(ids.tolist(), best.tolist(), conf.tolist(),
                                         cos.tolist(), strict=True):
                    tag = head.tags[b]
                    if (c >= min_confidence and near >= min_cosine and i not in user_named
                            and (i, tag) not in decided):
                        rows.append((i, tag, c))
            yield Progress("recognising", min(start + 20_000, len(all_ids)), len(all_ids))
    lib.write(lambda s: suggestions.replace(s, suggestions.FEWSHOT, rows))
    return len(rows)
