"""The general-tag review queue: general tags the models claim and nobody decided.

An entry is one (image, tag): an active pack scores the tag at or above its threshold (so the
image shows it as an effective tag) and there is no label on that image and tag, whoever made
it. Least confident first: by how far the best score clears its threshold, ascending, so the
claims nearest the line come first.

A tagger claims a dozen general tags per image, a million entries on 100,000 images, so the
queue is built once when it is opened: one pass over the predictions index gives every claim's
(image, tag, margin) as arrays, sorted with numpy (sorting a million rows in SQL per page took
seconds). Pages are then slices of those arrays; each page reads the few rows it shows (names,
paths) and leaves out entries labelled since the queue was built, so a page never shifts when
the reviewer decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from sqlalchemy import text

from animesion_desktop.core.library import Library

PAGE = 400

# Every claim of every active pack (a tag two packs claim comes twice: the best margin wins).
# Driven from pack_tags so each (pack, tag) is one range of ix_predictions_pack_tag_score, and
# returned as one text that numpy parses in C: a million rows through Python took a minute.
_CLAIMS = """
    SELECT group_concat(p.image_id || ',' || p.tag_id || ',' || p.score || ','
                        || (p.score - pt.threshold))
      FROM pack_tags pt
      JOIN packs k ON k.id = pt.pack_id AND k.active = 1
      JOIN tags t ON t.id = pt.tag_id AND t.category = 'general'
      JOIN predictions p ON p.pack_id = pt.pack_id AND p.tag_id = pt.tag_id
                        AND p.score >= pt.threshold
"""
_LABELLED = """
    SELECT l.image_id, l.tag_id FROM labels l JOIN tags t ON t.id = l.tag_id
     WHERE t.category = 'general' {only}
"""
_ONLY_IMAGES = "AND l.image_id IN (SELECT value FROM json_each(:ids))"
_DETAILS = """
    SELECT i.id, i.hash,
           (SELECT r.path || '/' || f.relpath FROM files f JOIN roots r ON r.id = f.root_id
             WHERE f.image_id = i.id ORDER BY f.status = 'ok' DESC, f.id LIMIT 1)
      FROM images i WHERE i.id IN (SELECT value FROM json_each(:ids))
"""
_NAMES = "SELECT id, name FROM tags WHERE id IN (SELECT value FROM json_each(:ids))"


@dataclass(frozen=True)
class TagEntry:
    image_id: int
    tag_id: int
    name: str  # the general tag's name ("blue_hair")
    score: float  # the best score among active packs
    margin: float  # how far that clears the pack's threshold (the sort key)
    hash: str
    path: str  # first readable location, empty if none
    rank: int = -1  # its place in the queue it came from (where the next page starts)

    @property
    def key(self) -> tuple[int, int]:
        return (self.image_id, self.tag_id)

    @property
    def tag(self) -> str:
        return f"general:{self.name}"


def _packed(image_ids: np.ndarray, tag_ids: np.ndarray) -> np.ndarray:
    return tag_ids.astype(np.int64) << 32 | image_ids.astype(np.int64)


class TagQueue:
    """The queue for one search query (``""``: the whole library), built on a worker (it runs
    a search and reads every claim), then read page by page."""

    def __init__(self, lib: Library, query: str = "") -> None:
        self.lib = lib
        self.query = query
        with lib.read() as s:
            raw = s.connection().connection.driver_connection
            assert raw is not None
            joined = raw.execute(_CLAIMS).fetchone()[0]
            labelled = s.execute(text(_LABELLED.format(only=""))).all()
        claims = (np.fromstring(joined, dtype=np.float64, sep=",") if joined
                  else np.zeros(0)).reshape(-1, 4)
        image = claims[:, 0].astype(np.int64)
        tag = claims[:, 1].astype(np.int64)
        score, margin = claims[:, 2], claims[:, 3]
        keep = np.ones(len(image), dtype=bool)
        if labelled:
            done = np.array(labelled, dtype=np.int64).reshape(-1, 2)
            keep &= ~np.isin(_packed(image, tag), _packed(done[:, 0], done[:, 1]))
        if query.strip():
            from animesion_desktop.core.search import search

            wanted = np.fromiter(search(lib, query, limit=None).ids, dtype=np.int64)
            keep &= np.isin(image, wanted)
        image, tag, score, margin = image[keep], tag[keep], score[keep], margin[keep]
        # Least confident first; a pair two packs claim keeps its best margin (and score).
        order = np.lexsort((-margin, tag, image))
        image, tag, score, margin = image[order], tag[order], score[order], margin[order]
        first = np.ones(len(image), dtype=bool)
        first[1:] = (image[1:] != image[:-1]) | (tag[1:] != tag[:-1])
        best_score = np.maximum.reduceat(score, np.flatnonzero(first)) if len(score) else score
        image, tag, margin = image[first], tag[first], margin[first]
        order = np.lexsort((tag, image, margin))
        self._image, self._tag = image[order], tag[order]
        self._margin, self._score = margin[order], best_score[order]

    def __len__(self) -> int:
        return len(self._image)

    def count(self) -> int:
        """Entries still undecided (labels made since the queue was built leave it)."""
        with self.lib.read() as s:
            labelled = s.execute(text(_LABELLED.format(only=""))).all()
        if not labelled:
            return len(self._image)
        done = np.array(labelled, dtype=np.int64).reshape(-1, 2)
        gone = np.isin(_packed(self._image, self._tag), _packed(done[:, 0], done[:, 1]))
        return int(len(self._image) - gone.sum())

    def page(self, after: TagEntry | None = None, limit: int = PAGE) -> list[TagEntry]:
        """The next ``limit`` undecided entries after ``after`` (from the start when None)."""
        out: list[TagEntry] = []
        start = 0 if after is None else after.rank + 1
        while len(out) < limit and start < len(self._image):
            end = min(len(self._image), start + max(limit - len(out), 64))
            out.extend(self._read(start, end)[: limit - len(out)])
            start = end
        return out

    def _read(self, start: int, end: int) -> list[TagEntry]:
        images = [int(i) for i in self._image[start:end]]
        tags = [int(t) for t in self._tag[start:end]]
        with self.lib.read() as s:
            ids = {"ids": json.dumps(sorted(set(images)))}
            details = {int(i): (str(h), str(p or "")) for i, h, p in
                       s.execute(text(_DETAILS), ids)}
            names = {int(i): str(n) for i, n in
                     s.execute(text(_NAMES), {"ids": json.dumps(sorted(set(tags)))})}
            labelled = {(int(i), int(t)) for i, t in
                        s.execute(text(_LABELLED.format(only=_ONLY_IMAGES)), ids)}
        out = []
        for k, (image_id, tag_id) in enumerate(zip(images, tags, strict=True)):
            if (image_id, tag_id) in labelled or image_id not in details:
                continue  # decided (or deleted) since the queue was built
            h, path = details[image_id]
            out.append(TagEntry(image_id, tag_id, names.get(tag_id, "?"),
                                float(self._score[start + k]), float(self._margin[start + k]),
                                h, path, start + k))
        return out
