"""Everything the library holds about one image, as plain data (``animesion show``, the GUI's
inspector): the image, its files, the decisions on it, its effective tags, and per pack what
the model said, with the pack's threshold beside every score."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import text

from animesion_desktop.core.library import Library


def tag_text(category: str, name: str) -> str:
    return name if category == "general" else f"{category}:{name}"


def image_record(lib: Library, image_id: int) -> dict[str, Any] | None:
    with lib.read() as s:
        image = s.execute(
            text("SELECT id, hash, width, height, format, added_at, char_score FROM images "
                 "WHERE id = :i"),
            {"i": image_id},
        ).mappings().first()
        if image is None:
            return None
        files = [
            # relpath is the printable form of the name (relpath_raw may not be UTF-8)
            {"path": os.path.join(root, relpath), "size": size, "mtime_ns": mtime,
             "status": status, "error": error}
            for root, relpath, size, mtime, status, error in s.execute(
                text("SELECT r.path, f.relpath, f.size, f.mtime_ns, f.status, f.error "
                     "FROM files f JOIN roots r ON r.id = f.root_id WHERE f.image_id = :i "
                     "ORDER BY f.id"),
                {"i": image_id},
            )
        ]
        labels = [
            {"tag": tag_text(c, n), "category": c, "name": n, "state": state, "source": source,
             "at": at}
            for c, n, state, source, at in s.execute(
                text("SELECT t.category, t.name, l.state, l.source, l.at FROM labels l "
                     "JOIN tags t ON t.id = l.tag_id WHERE l.image_id = :i "
                     "ORDER BY t.category, t.name"),
                {"i": image_id},
            )
        ]
        effective = [
            tag_text(c, n)
            for c, n in s.execute(
                text("SELECT t.category, t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id "
                     "WHERE it.image_id = :i ORDER BY t.category != 'character', t.category, "
                     "t.name"),
                {"i": image_id},
            )
        ]
        packs: dict[int, dict[str, Any]] = {}
        for pack_id, name, version, active, at, error, dim in s.execute(
            text("SELECT k.id, k.name, k.version, k.active, r.at, r.error, e.dim "
                 "FROM inference_runs r JOIN packs k ON k.id = r.pack_id "
                 "LEFT JOIN embeddings e ON e.image_id = r.image_id AND e.pack_id = r.pack_id "
                 "WHERE r.image_id = :i ORDER BY k.name"),
            {"i": image_id},
        ):
            packs[pack_id] = {"name": name, "version": version, "active": bool(active),
                              "run_at": at, "error": error, "embedding_dim": dim,
                              "predictions": {}}
        for pack_id, c, n, score, threshold in s.execute(
            text("SELECT p.pack_id, t.category, t.name, p.score, pt.threshold "
                 "FROM predictions p JOIN tags t ON t.id = p.tag_id "
                 "LEFT JOIN pack_tags pt ON pt.pack_id = p.pack_id AND pt.tag_id = p.tag_id "
                 "WHERE p.image_id = :i ORDER BY p.pack_id, t.category, p.score DESC, t.name"),
            {"i": image_id},
        ):
            if pack_id not in packs:  # predictions without a run record: not written by us
                continue
            packs[pack_id]["predictions"].setdefault(c, []).append(
                {"tag": tag_text(c, n), "name": n, "score": round(float(score), 6),
                 "threshold": threshold,
                 "passes": threshold is not None and score >= threshold}
            )
    return {
        "image": dict(image),
        "files": files,
        "labels": labels,
        "effective_tags": effective,
        "packs": list(packs.values()),
    }
