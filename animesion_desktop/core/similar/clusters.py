"""Clusters of unknown characters, and naming them.

Unknown images: those with an embedding of the pack and no effective character tag (their best
character score is below the pack's threshold, or the user rejected what the pack said). They
are clustered by scikit-learn's agglomerative clustering on cosine distance (average linkage,
cut at ``max_distance``); clusters of ``min_size`` or more are stored, largest first.

Naming a cluster (or some images in it) accepts ``character:NAME`` on them (source ``user``),
then proposes the name for the nearest images that have no decision on it, as ``propagation``
suggestions with their cosine to the named images' prototype; never as labels. The few-shot
head's suggestions are rerun with the new labels.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from animesion_desktop.core.jobs import Job, Progress, run_to_end
from animesion_desktop.core.library import Library, LibraryError
from animesion_desktop.core.library.library import LabelChange
from animesion_desktop.core.library.tags import parse_tag
from animesion_desktop.core.similar import fewshot, suggestions
from animesion_desktop.core.similar.index import SimilarIndex, default_pack
from animesion_desktop.core.similar.vectors import normalize

MAX_DISTANCE = 0.35  # cosine distance at which two groups stop merging
MIN_SIZE = 2
MAX_IMAGES = 5000  # agglomerative clustering needs n^2 memory: a seeded sample beyond this
PROPOSE = 50  # nearest images offered per naming
MIN_SCORE = 0.5  # cosine to the prototype below which nothing is proposed


@dataclass(frozen=True)
class ClusterInfo:
    id: int
    size: int
    image_ids: list[int]  # nearest to the centre first


def unknown_images(lib: Library, pack_id: int) -> list[int]:
    with lib.read() as s:
        return [int(i) for (i,) in s.execute(text(
            "SELECT e.image_id FROM embeddings e WHERE e.pack_id = :p AND NOT EXISTS ("
            "SELECT 1 FROM image_tags it JOIN tags t ON t.id = it.tag_id "
            "WHERE it.image_id = e.image_id AND t.category = 'character') ORDER BY e.image_id"),
            {"p": pack_id})]


def cluster_unknowns(lib: Library, pack_id: int, cancel: threading.Event | None = None, *,
                     max_distance: float = MAX_DISTANCE, min_size: int = MIN_SIZE,
                     max_images: int = MAX_IMAGES) -> Job[list[ClusterInfo]]:
    """Recluster the pack's unknown images and store the result (replacing the last one)."""
    from sklearn.cluster import AgglomerativeClustering

    cancel = cancel or threading.Event()
    ids = unknown_images(lib, pack_id)
    if len(ids) > max_images:
        pick = np.random.default_rng(0).choice(len(ids), max_images, replace=False)
        ids = sorted(ids[i] for i in pick)
    yield Progress("reading", 0, len(ids))
    index = SimilarIndex(lib, pack_id)
    have, vecs = index.vectors(ids)
    found: list[tuple[np.ndarray, np.ndarray]] = []  # (member ids, distances to the centre)
    if len(have) >= 2 and not cancel.is_set():
        yield Progress("clustering", 0, len(have))
        labels = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average",
            distance_threshold=max_distance).fit_predict(vecs)
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            if len(members) < min_size:
                continue
            centre = normalize(vecs[members].mean(axis=0))
            dist = 1.0 - vecs[members] @ centre
            order = np.argsort(dist, kind="stable")
            found.append((have[members[order]], dist[order]))
        found.sort(key=lambda c: (-len(c[0]), int(c[0][0])))
    if cancel.is_set():
        return []

    def store(s: Session) -> list[int]:
        conn = s.connection()
        conn.execute(text("DELETE FROM clusters WHERE pack_id = :p"), {"p": pack_id})
        out = []
        now = time.time()
        for members, dist in found:
            cid = conn.execute(text("INSERT INTO clusters (pack_id, size, made_at) VALUES "
                                    "(:p, :n, :t) RETURNING id"),
                               {"p": pack_id, "n": len(members), "t": now}).scalar_one()
            conn.execute(text("INSERT INTO cluster_members (cluster_id, image_id, distance) "
                              "VALUES (:c, :i, :d)"),
                         [{"c": cid, "i": int(i), "d": float(d)}
                          for i, d in zip(members, dist, strict=True)])
            out.append(int(cid))
        return out

    cluster_ids = lib.write(store)
    yield Progress("clustering", len(have), len(have))
    return [ClusterInfo(cid, len(m), [int(i) for i in m])
            for cid, (m, _d) in zip(cluster_ids, found, strict=True)]


@dataclass(frozen=True)
class ReclusterSummary:
    clusters: int
    images: int

    def line(self) -> str:
        return (f"{self.clusters} clusters of unknown characters ({self.images} images)"
                if self.clusters else "No clusters of unknown characters found")


def recluster(lib: Library, cancel: threading.Event | None = None) -> Job[ReclusterSummary]:
    """Recluster the unknown images of the pack similar images use (the app's job)."""
    pack_id, _name = default_pack(lib)
    found = yield from cluster_unknowns(lib, pack_id, cancel)
    return ReclusterSummary(len(found), sum(c.size for c in found))


def list_clusters(lib: Library, pack_id: int | None = None) -> list[ClusterInfo]:
    where = "" if pack_id is None else "WHERE c.pack_id = :p"
    with lib.read() as s:
        rows = s.execute(text(
            "SELECT c.id, m.image_id FROM clusters c JOIN cluster_members m ON m.cluster_id = c.id "
            f"{where} ORDER BY c.id, m.distance, m.image_id"), {"p": pack_id}).all()
    members: dict[int, list[int]] = {}
    for cid, image_id in rows:
        members.setdefault(int(cid), []).append(int(image_id))
    return sorted((ClusterInfo(c, len(m), m) for c, m in members.items()),
                  key=lambda c: (-c.size, c.id))


@dataclass(frozen=True)
class Naming:
    labelled: list[int]
    proposed: list[suggestions.Suggested]
    tag: str = ""
    pack_id: int = 0
    changes: list[LabelChange] = field(default_factory=list)  # what undo_naming puts back


def _cluster_pack(lib: Library, cluster_id: int) -> int:
    with lib.read() as s:
        pack_id = s.execute(text("SELECT pack_id FROM clusters WHERE id = :c"),
                            {"c": cluster_id}).scalar()
    if pack_id is None:
        raise LibraryError(f"no cluster {cluster_id} (run `animesion clusters` to make them)")
    return int(pack_id)


def name_cluster(lib: Library, cluster_id: int, name: str,
                 image_ids: Sequence[int] | None = None, *, propose: int = PROPOSE,
                 min_score: float = MIN_SCORE) -> Naming:
    """Label the cluster's images (or ``image_ids`` of it) ``character:name`` and propose the
    name for the nearest other images (``propagation`` suggestions)."""
    pack_id = _cluster_pack(lib, cluster_id)
    members = next(c.image_ids for c in list_clusters(lib) if c.id == cluster_id)
    chosen = list(members) if image_ids is None else list(image_ids)
    outside = sorted(set(chosen) - set(members))
    if outside:
        raise LibraryError(f"images {outside} are not in cluster {cluster_id}")
    category, tag_name = parse_tag(name if ":" in name else f"character:{name}")
    tag = f"{category}:{tag_name}"
    changes = lib.set_label(chosen, tag, "accepted", source="user")
    proposed = propagate(lib, pack_id, tag, propose=propose, min_score=min_score)
    run_to_end(fewshot.update(lib, pack_id))  # the head follows the new labels at once
    return Naming(chosen, proposed, tag, pack_id, changes)


def undo_naming(lib: Library, naming: Naming) -> None:
    """Put the labels back as they were before ``naming``; the name's proposals and the
    few-shot head are recomputed from the labels that remain."""
    lib.undo(list(reversed(naming.changes)))
    propagate(lib, naming.pack_id, naming.tag)
    run_to_end(fewshot.update(lib, naming.pack_id))


def propagate(lib: Library, pack_id: int, tag: str, *, propose: int = PROPOSE,
              min_score: float = MIN_SCORE) -> list[suggestions.Suggested]:
    """Propose ``tag`` for the images nearest to the prototype of the images it is accepted on
    (replacing earlier propagation suggestions of that tag)."""
    category, tag_name = parse_tag(tag)
    with lib.read() as s:
        decided = {int(i): str(state) for i, state in s.execute(text(
            "SELECT l.image_id, l.state FROM labels l JOIN tags t ON t.id = l.tag_id "
            "WHERE t.category = :c AND t.name = :n"), {"c": category, "n": tag_name})}
    positives = [i for i, state in decided.items() if state == "accepted"]
    index = SimilarIndex(lib, pack_id)
    index.refresh()
    _ids, vecs = index.vectors(positives)
    rows: list[tuple[int, str, float]] = []
    if len(vecs):
        for n in index.search(vecs.mean(axis=0), propose + len(decided), exclude=decided):
            if n.score >= min_score and len(rows) < propose:
                rows.append((n.image_id, f"{category}:{tag_name}", n.score))
    lib.write(lambda s: suggestions.replace(s, suggestions.PROPAGATION, rows,
                                            tags=[f"{category}:{tag_name}"]))
    return [suggestions.Suggested(i, t, suggestions.PROPAGATION, sc) for i, t, sc in rows]
