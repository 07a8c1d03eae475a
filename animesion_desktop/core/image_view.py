"""One image as the user sees it: its files, its decisions, its effective tags and, per pack,
what the model said. The inspector, ``animesion show`` and ``animesion search --json`` all read
an image through :func:`image_views`, so they cannot disagree about what an image is.

A *summary* view (image, files, effective tags) is fetched for a whole chunk of ids in a few
queries (search results); a *full* view adds labels, pack results and the inspector's tag
lines (one image at a time: show, the inspector).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from animesion_desktop.core.library import Library
from animesion_desktop.core.library.tags import tag_text
from animesion_desktop.core.tagging.store import decode_tags

# the inspector's order of categories
_CATEGORY_ORDER = {"character": 0, "copyright": 1, "artist": 2, "general": 3, "meta": 4,
                   "rating": 5}


@dataclass(frozen=True)
class FileView:
    root: str
    relpath: str  # the printable form of the name (relpath_raw may not be UTF-8)
    size: int | None
    mtime_ns: int | None
    status: str  # ok / missing / error
    error: str | None

    @property
    def path(self) -> str:
        return os.path.join(self.root, self.relpath)


@dataclass(frozen=True)
class LabelView:
    category: str
    name: str
    state: str  # accepted / rejected
    source: str
    at: float

    @property
    def text(self) -> str:
        return tag_text(self.category, self.name)


@dataclass(frozen=True)
class PredictionView:
    category: str
    name: str
    score: float
    threshold: float | None

    @property
    def passes(self) -> bool:
        return self.threshold is not None and self.score >= self.threshold


@dataclass(frozen=True)
class PackView:
    """One pack's run on the image and everything it predicted there."""

    pack_id: int
    name: str
    version: str
    active: bool
    run_at: float | None
    error: str | None
    embedding_dim: int | None
    predictions: tuple[PredictionView, ...]  # by category, best score first
    mode: str | None = None  # multimodal packs: image_only / generate / conditioned
    conditioned_on: tuple[str, ...] = ()  # the accepted tags the guess was given

    @property
    def mode_text(self) -> str | None:
        """Which mode produced the pack's result, for people; None for a single-mode pack."""
        return describe_mode(self.mode, self.conditioned_on)


@dataclass(frozen=True)
class TagLine:
    """One row of the inspector: a tag with a label, an active prediction or effective."""

    category: str
    name: str
    effective: bool
    label: str | None  # "accepted" / "rejected" / None
    label_source: str | None
    score: float | None  # best score among active packs
    threshold: float | None

    @property
    def text(self) -> str:
        return tag_text(self.category, self.name)


@dataclass(frozen=True)
class ImageView:
    image_id: int
    hash: str
    width: int | None
    height: int | None
    format: str | None
    added_at: float | None
    char_score: float | None  # best character prediction (the search's ``score``)
    files: tuple[FileView, ...]  # every location, oldest row first
    effective: tuple[tuple[str, str], ...]  # (category, name), characters first
    full: bool = False  # whether the three below were fetched
    labels: tuple[LabelView, ...] = ()
    packs: tuple[PackView, ...] = ()
    tags: tuple[TagLine, ...] = ()

    @property
    def paths(self) -> tuple[tuple[str, str, str | None], ...]:
        """(path, status, error) of every file, for display."""
        return tuple((f.path, f.status, f.error) for f in self.files)

    @property
    def effective_texts(self) -> list[str]:
        return [tag_text(c, n) for c, n in self.effective]

    def shown_paths(self) -> list[str]:
        """The readable files, or if there are none, where it was last seen; sorted."""
        located = sorted(self.files, key=lambda f: (f.root, f.relpath))
        ok = [f.path for f in located if f.status == "ok"]
        return ok or [f.path for f in located]

    def search_item(self) -> dict[str, Any]:
        """One element of ``animesion search --json``."""
        return {
            "image_id": self.image_id,
            "hash": self.hash,
            "paths": self.shown_paths(),
            "width": self.width,
            "height": self.height,
            "score": self.char_score,
            "tags": [f"{c}:{n}" for c, n in sorted(self.effective)],
        }

    def record(self) -> dict[str, Any]:
        """Everything, as plain JSON-able data (``animesion show --json``); needs a full view."""
        if not self.full:
            raise ValueError("record() needs a full view (image_view or full=True)")
        packs = []
        for pack in self.packs:
            by_category: dict[str, list[dict[str, Any]]] = {}
            for p in pack.predictions:
                by_category.setdefault(p.category, []).append(
                    {"tag": tag_text(p.category, p.name), "name": p.name,
                     "score": round(float(p.score), 6), "threshold": p.threshold,
                     "passes": p.passes})
            packs.append({"name": pack.name, "version": pack.version, "active": pack.active,
                          "run_at": pack.run_at, "error": pack.error,
                          "embedding_dim": pack.embedding_dim, "mode": pack.mode,
                          "conditioned_on": list(pack.conditioned_on),
                          "mode_text": pack.mode_text, "predictions": by_category})
        return {
            "image": {"id": self.image_id, "hash": self.hash, "width": self.width,
                      "height": self.height, "format": self.format, "added_at": self.added_at,
                      "char_score": self.char_score},
            "files": [{"path": f.path, "size": f.size, "mtime_ns": f.mtime_ns,
                       "status": f.status, "error": f.error} for f in self.files],
            "labels": [{"tag": lv.text, "category": lv.category, "name": lv.name,
                        "state": lv.state, "source": lv.source, "at": lv.at}
                       for lv in self.labels],
            "effective_tags": self.effective_texts,
            "packs": packs,
        }


def describe_mode(mode: str | None, conditioned_on: Sequence[str] = ()) -> str | None:
    """``conditioned on 4 tags``, ``image only, tags generated``, ``image only``; None when
    the pack has no modes (every pack but a multimodal one)."""
    if mode is None:
        return None
    if mode == "conditioned":
        n = len(conditioned_on)
        return f"conditioned on {n} tag{'' if n == 1 else 's'}"
    if mode == "generate":
        return "image only, tags generated"
    return "image only" if mode == "image_only" else mode


def _ids(sql: str) -> Any:
    return text(sql).bindparams(bindparam("ids", expanding=True))


_IMAGES = _ids("SELECT id, hash, width, height, format, added_at, char_score FROM images "
               "WHERE id IN :ids")
_FILES = _ids("SELECT f.image_id, r.path, f.relpath, f.size, f.mtime_ns, f.status, f.error "
              "FROM files f JOIN roots r ON r.id = f.root_id WHERE f.image_id IN :ids "
              "ORDER BY f.id")
_EFFECTIVE = _ids("SELECT it.image_id, t.category, t.name FROM image_tags it "
                  "JOIN tags t ON t.id = it.tag_id WHERE it.image_id IN :ids "
                  "ORDER BY t.category != 'character', t.category, t.name")
_LABELS = text("SELECT t.category, t.name, l.state, l.source, l.at FROM labels l "
               "JOIN tags t ON t.id = l.tag_id WHERE l.image_id = :i ORDER BY t.category, t.name")
_RUNS = text("SELECT k.id, k.name, k.version, k.active, r.at, r.error, e.dim, r.mode, "
             "r.conditioned_on "
             "FROM inference_runs r JOIN packs k ON k.id = r.pack_id "
             "LEFT JOIN embeddings e ON e.image_id = r.image_id AND e.pack_id = r.pack_id "
             "WHERE r.image_id = :i ORDER BY k.name")
_PREDICTIONS = text(
    "SELECT p.pack_id, t.category, t.name, p.score, pt.threshold "
    "FROM predictions p JOIN tags t ON t.id = p.tag_id "
    "LEFT JOIN pack_tags pt ON pt.pack_id = p.pack_id AND pt.tag_id = p.tag_id "
    "WHERE p.image_id = :i ORDER BY p.pack_id, t.category, p.score DESC, t.name"
)
_TAG_LINES = text(
    """
    WITH cand AS (
        SELECT tag_id FROM labels WHERE image_id = :i
        UNION SELECT tag_id FROM image_tags WHERE image_id = :i
        UNION SELECT p.tag_id FROM predictions p JOIN packs k ON k.id = p.pack_id AND k.active
               WHERE p.image_id = :i)
    SELECT t.category, t.name,
           EXISTS (SELECT 1 FROM image_tags it WHERE it.image_id = :i AND it.tag_id = t.id),
           l.state, l.source,
           (SELECT MAX(p.score) FROM predictions p JOIN packs k ON k.id = p.pack_id AND k.active
             WHERE p.image_id = :i AND p.tag_id = t.id),
           (SELECT MIN(pt.threshold) FROM pack_tags pt JOIN packs k ON k.id = pt.pack_id
                    AND k.active WHERE pt.tag_id = t.id)
      FROM cand JOIN tags t ON t.id = cand.tag_id
      LEFT JOIN labels l ON l.image_id = :i AND l.tag_id = t.id
    """
)


def image_views(lib: Library, image_ids: Sequence[int], *, full: bool = False) -> list[ImageView]:
    """Views of ``image_ids`` in that order; ids no longer in the library are left out. Keep
    chunks to a few hundred ids (one ``IN`` list each)."""
    ids = list(dict.fromkeys(image_ids))
    if not ids:
        return []
    with lib.read() as s:
        images = {row[0]: row for row in s.execute(_IMAGES, {"ids": ids})}
        files: dict[int, list[FileView]] = {}
        for image_id, root, relpath, size, mtime, status, error in s.execute(_FILES, {"ids": ids}):
            files.setdefault(image_id, []).append(
                FileView(str(root), relpath, size, mtime, status, error))
        effective: dict[int, list[tuple[str, str]]] = {}
        for image_id, category, name in s.execute(_EFFECTIVE, {"ids": ids}):
            effective.setdefault(image_id, []).append((category, name))
        views = []
        for image_id in ids:
            row = images.get(image_id)
            if row is None:  # deleted since it was found
                continue
            view = ImageView(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                             tuple(files.get(image_id, ())),
                             tuple(effective.get(image_id, ())))
            views.append(_with_details(s, view) if full else view)
    return views


def image_view(lib: Library, image_id: int) -> ImageView | None:
    """The full view of one image (show, the inspector), or None if it is not in the library."""
    found = image_views(lib, [image_id], full=True)
    return found[0] if found else None


def _with_details(s: Session, view: ImageView) -> ImageView:
    i = {"i": view.image_id}
    labels = tuple(LabelView(*row) for row in s.execute(_LABELS, i))
    runs: dict[int, PackView] = {}
    predictions: dict[int, list[PredictionView]] = {}
    for pack_id, name, version, active, at, error, dim, mode, given in s.execute(_RUNS, i):
        runs[pack_id] = PackView(pack_id, name, version, bool(active), at, error, dim, (),
                                 mode, decode_tags(given))
        predictions[pack_id] = []
    for pack_id, category, name, score, threshold in s.execute(_PREDICTIONS, i):
        if pack_id in runs:  # predictions without a run record were not written by us
            predictions[pack_id].append(PredictionView(category, name, float(score), threshold))
    packs = tuple(replace(run, predictions=tuple(predictions[p])) for p, run in runs.items())
    lines = [TagLine(c, n, bool(e), st, src, sc, th)
             for c, n, e, st, src, sc, th in s.execute(_TAG_LINES, i)]
    lines.sort(key=lambda t: (_CATEGORY_ORDER.get(t.category, 9), not t.effective,
                              -(t.score or 0), t.name))
    return ImageView(view.image_id, view.hash, view.width, view.height, view.format,
                     view.added_at, view.char_score, view.files, view.effective, True,
                     labels, packs, tuple(lines))
