"""What the benchmarks that compare the app with another computation share: running the real
`animesion` / `animesion-train` commands, and reading the scores `animesion tag` stored."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

BIN = Path(sys.executable).parent


def command(tool: str, *args: str | Path) -> str:
    """Run ``tool`` (animesion or animesion-train from this environment); its stdout. A
    failure ends the benchmark with the command's own message."""
    argv = [str(BIN / tool), *map(str, args)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[:4])} ...: exit {done.returncode}\n{done.stderr.strip()}")
    return done.stdout


def precision_line(tag_output: str) -> str:
    """The `precision: ...` line of `animesion tag`'s summary."""
    lines = [ln.strip() for ln in tag_output.splitlines() if ln.strip().startswith("precision:")]
    return lines[-1].removeprefix("precision:").strip() if lines else "(not reported)"


def stored_scores(db: Path, pack: str, category: str = "character") -> dict[str, dict[str, float]]:
    """relative path of each file -> {tag name: stored score} of ``pack``'s ``category``
    predictions (the library keeps the top 5 and everything >= its floor of 0.01)."""
    from animesion_desktop.core.library import Library

    out: dict[str, dict[str, float]] = {}
    with Library.open(db) as lib, lib.read() as s:
        rows = s.execute(text(
            "SELECT f.relpath, t.name, p.score FROM files f "
            "JOIN predictions p ON p.image_id = f.image_id "
            "JOIN packs k ON k.id = p.pack_id JOIN tags t ON t.id = p.tag_id "
            "WHERE k.name = :pack AND t.category = :category AND f.status = 'ok'"),
            {"pack": pack, "category": category})
        for relpath, name, score in rows:
            out.setdefault(str(relpath), {})[str(name)] = float(score)
    return out
