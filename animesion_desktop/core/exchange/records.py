"""What an export reads from the library: one :class:`ImageRecord` per image, in chunks.

Read through the Library's own read sessions with bound parameters. ``labels`` are the
decisions (accepted / rejected, with source); ``effective`` is the one effective-tag set
(``image_tags``); ``scores`` the best score of each tag among the active packs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from animesion_desktop.core.library import Library

CHUNK = 500
Tag = tuple[str, str]  # (category, name)


@dataclass
class ImageRecord:
    id: int
    hash: str
    width: int | None
    height: int | None
    format: str | None
    paths: list[Path] = field(default_factory=list)  # present files, first is the one exported
    roots: list[Path] = field(default_factory=list)  # the root of each path
    labels: dict[Tag, tuple[str, str]] = field(default_factory=dict)  # tag -> (state, source)
    effective: set[Tag] = field(default_factory=set)
    scores: dict[Tag, float] = field(default_factory=dict)

    @property
    def path(self) -> Path | None:
        return self.paths[0] if self.paths else None

    def accepted(self) -> set[Tag]:
        return {t for t, (state, _) in self.labels.items() if state == "accepted"}

    def rejected(self) -> set[Tag]:
        return {t for t, (state, _) in self.labels.items() if state == "rejected"}

    def tags(self, which: str) -> set[Tag]:
        """``accepted``: the decisions only; ``effective``: what search shows."""
        return self.accepted() if which == "accepted" else set(self.effective)


def _marks(ids: Sequence[int]) -> tuple[str, dict[str, int]]:
    names = [f"i{n}" for n in range(len(ids))]
    return ", ".join(f":{n}" for n in names), dict(zip(names, ids, strict=True))


def all_image_ids(lib: Library) -> list[int]:
    with lib.read() as s:
        return [int(i) for (i,) in s.execute(text("SELECT id FROM images ORDER BY id"))]


def read_records(lib: Library, image_ids: Sequence[int]) -> Iterator[list[ImageRecord]]:
    """Records of ``image_ids`` (in that order), a chunk at a time."""
    for start in range(0, len(image_ids), CHUNK):
        chunk = list(image_ids[start : start + CHUNK])
        yield _read_chunk(lib, chunk)


def _read_chunk(lib: Library, ids: list[int]) -> list[ImageRecord]:
    marks, params = _marks(ids)
    out: dict[int, ImageRecord] = {}
    with lib.read() as s:
        for i, h, w, ht, fmt in s.execute(
            text(f"SELECT id, hash, width, height, format FROM images WHERE id IN ({marks})"), params
        ):
            out[int(i)] = ImageRecord(int(i), h, w, ht, fmt)
        for image_id, root, rel in s.execute(
            text(
                "SELECT f.image_id, r.path, f.relpath_raw FROM files f JOIN roots r ON r.id = f.root_id "
                f"WHERE f.status = 'ok' AND f.image_id IN ({marks}) ORDER BY f.id"
            ),
            params,
        ):
            rec = out[int(image_id)]
            rec.paths.append(Path(os.fsdecode(os.fsencode(root) + os.fsencode(os.sep) + bytes(rel))))
            rec.roots.append(Path(root))
        for image_id, cat, name, state, source in s.execute(
            text(
                "SELECT l.image_id, t.category, t.name, l.state, l.source FROM labels l "
                f"JOIN tags t ON t.id = l.tag_id WHERE l.image_id IN ({marks})"
            ),
            params,
        ):
            out[int(image_id)].labels[(cat, name)] = (state, source)
        for image_id, cat, name in s.execute(
            text(
                "SELECT it.image_id, t.category, t.name FROM image_tags it "
                f"JOIN tags t ON t.id = it.tag_id WHERE it.image_id IN ({marks})"
            ),
            params,
        ):
            out[int(image_id)].effective.add((cat, name))
        for image_id, cat, name, score in s.execute(
            text(
                "SELECT p.image_id, t.category, t.name, MAX(p.score) FROM predictions p "
                "JOIN packs k ON k.id = p.pack_id AND k.active = 1 "
                f"JOIN tags t ON t.id = p.tag_id WHERE p.image_id IN ({marks}) "
                "GROUP BY p.image_id, p.tag_id"
            ),
            params,
        ):
            out[int(image_id)].scores[(cat, name)] = float(score)
    return [out[i] for i in ids if i in out]


def active_thresholds(lib: Library) -> dict[str, dict[str, float]]:
    """pack name -> {"category:name": threshold} of every active pack (export.json records it)."""
    result: dict[str, dict[str, float]] = {}
    with lib.read() as s:
        for pack, cat, name, thr in s.execute(
            text(
                "SELECT k.name, t.category, t.name, pt.threshold FROM pack_tags pt "
                "JOIN packs k ON k.id = pt.pack_id AND k.active = 1 JOIN tags t ON t.id = pt.tag_id "
                "ORDER BY k.name, t.category, t.name"
            )
        ):
            result.setdefault(pack, {})[f"{cat}:{name}"] = float(thr)
    return result
