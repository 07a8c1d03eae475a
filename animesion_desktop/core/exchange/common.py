"""Small pieces every exporter shares: names of exported images, tags by category."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from animesion_desktop.core.exchange.plan import LeftOut
from animesion_desktop.core.exchange.records import ImageRecord, Tag

RATINGS = ("general", "sensitive", "questionable", "explicit")


def export_name(rec: ImageRecord) -> str:
    """``<first 16 hex digits of the hash><original suffix>``: unique, stable across exports."""
    suffix = rec.path.suffix.lower() if rec.path is not None else ""
    return f"{rec.hash[:16]}{suffix}"


def names(tags: Iterable[Tag], category: str) -> list[str]:
    return sorted(n for c, n in tags if c == category)


def single(values: list[str]) -> str:
    return values[0] if len(values) == 1 else ""


def missing_file(rec: ImageRecord) -> LeftOut:
    return LeftOut(rec.hash, "no file present (missing from disk)")


def where(rec: ImageRecord) -> str:
    return str(rec.path) if rec.path is not None else rec.hash


def relative_to_root(rec: ImageRecord) -> tuple[Path, Path]:
    """(root, path inside it) of the exported file."""
    assert rec.path is not None
    root = rec.roots[0]
    return root, rec.path.relative_to(root)
