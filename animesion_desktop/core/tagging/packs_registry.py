"""Installed model packs: the folders in ``packs_dir`` and their record in the library.

Installing converts an outside format (an Animesion checkpoint, a WD tagger folder, a Hugging
Face classifier) into a pack first (``models.importers.import_any``), lets ``models.pack``
validate and install it, then records it: the pack row (version, sha256 of the weights, info)
and its vocabulary as library tags with each label's threshold (``pack_tags``; a multimodal
pack's generated tags are general tags at its ``tag_threshold``), which is what
thresholds at read time and the effective-tag rule use. Removing deletes the pack's
predictions, run records and embeddings with it (foreign-key cascades) and refreshes the
effective tags of the images it had spoken about. Labels are never touched.

Installing is all or nothing: the pack is staged and moved into a folder no row points at,
then recorded; only after that commit is the folder of a replaced pack deleted. A failed write
deletes the new folder and leaves the old row and its weights as they were; a kill at any
moment leaves a row that points at complete weights matching its sha256 (and, at worst, an
unreferenced folder that the next install of that name clears).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from animesion_desktop.core.crashpoints import pause_point
from animesion_desktop.core.library import Library, LibraryError, effective
from animesion_desktop.core.library.schema import InferenceRun, Pack, PackTag, Prediction
from animesion_desktop.core.library.tags import normalize_name


class PackInstallError(LibraryError):
    """A pack that cannot be installed; the message names the file and field at fault."""


@dataclass(frozen=True)
class PackSummary:
    id: int
    name: str
    version: str
    backend: str
    active: bool
    path: Path
    heads: tuple[tuple[str, int], ...]  # (head name, number of labels)
    images: int  # images this pack has looked at
    installed_at: float


# -- recording a pack ------------------------------------------------------------------------


def _tag_ids(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Library tag ids for (category, name) pairs, creating the missing tags in bulk."""
    conn = session.connection()
    wanted = set(keys)
    conn.execute(
        text("INSERT OR IGNORE INTO tags (category, name) VALUES (:c, :n)"),
        [{"c": c, "n": n} for c, n in sorted(wanted)],
    )
    ids: dict[tuple[str, str], int] = {}
    names = sorted({n for _, n in wanted})
    for start in range(0, len(names), 900):
        chunk = names[start:start + 900]
        rows = conn.execute(
            text("SELECT id, category, name FROM tags WHERE name IN :names")
            .bindparams(bindparam("names", expanding=True)),
            {"names": chunk},
        )
        for tag_id, c, n in rows:
            if (c, n) in wanted:
                ids[(c, n)] = tag_id
    return ids


def record_pack(
    session: Session,
    *,
    name: str,
    version: str,
    sha256: str,
    path: Path,
    heads: Iterable[Any],
    info: dict[str, Any],
    active: bool = True,
) -> int:
    """Insert a pack row and its vocabulary (every label of every head, with its threshold).

    ``heads`` are ``models.pack`` HeadSpecs or anything with ``.labels`` of
    (name, category, threshold). A label listed twice keeps its first threshold.
    """
    pack = Pack(name=name, version=version, sha256=sha256, path=path, active=active,
                installed_at=time.time(), info=info)
    session.add(pack)
    session.flush()
    thresholds: dict[tuple[str, str], float] = {}
    for head in heads:
        for label in head.labels:
            key = (label.category, normalize_name(label.name))
            thresholds.setdefault(key, float(label.threshold))
    ids = _tag_ids(session, list(thresholds))
    session.connection().execute(
        text("INSERT INTO pack_tags (pack_id, tag_id, threshold) VALUES (:p, :t, :th)"),
        [{"p": pack.id, "t": ids[k], "th": th} for k, th in thresholds.items()],
    )
    return pack.id


def _delete_pack(session: Session, pack: Pack) -> list[int]:
    """Delete a pack row (its predictions, runs, embeddings and vocabulary cascade);
    returns the images whose effective tags may have changed."""
    touched = list(
        session.scalars(select(Prediction.image_id).where(Prediction.pack_id == pack.id).distinct())
    )
    session.delete(pack)
    session.flush()
    return touched


# -- the operations ----------------------------------------------------------------------------


def weights_sha256(folder: Path) -> str:
    from models.pack import WEIGHT_FILES
    from models.pack import weights_sha256 as sha256_of

    digest = sha256_of(folder)
    if digest is None:
        raise PackInstallError(f"{folder}: no weights file ({', '.join(WEIGHT_FILES)})")
    return digest


def pack_info(pack: Any, source: str) -> dict[str, Any]:
    """The JSON kept in ``packs.info``: enough to describe the pack without opening it."""
    return {
        "backend": pack.backend,
        "architecture": None if pack.architecture is None else pack.architecture.to_dict(),
        "input": pack.input.to_dict(),
        "heads": [
            {"name": h.name, "activation": h.activation, "labels": len(h.labels),
             "labels_file": h.labels_file}
            for h in pack.heads
        ],
        "metrics": dict(pack.metrics),
        "provenance": dict(pack.provenance),
        "source": source,
    }


def _is_native_pack(src: Path) -> bool:
    return (src.is_dir() and (src / "pack.json").is_file()) or (
        src.is_file() and src.suffix.lower() == ".zip"
    )


def _as_pack(src: Path, work: Path, name: str | None, classes: Path | None) -> Path:
    """A pack folder or .zip for ``src``: itself if it already is one, else a conversion
    (``classes``: the class list of an Animesion checkpoint that has none beside it)."""
    from models.importers import import_animesion_checkpoint, import_any

    if classes is not None:
        return import_animesion_checkpoint(src, work / "imported", classes_csv=classes,
                                           name=name).path
    if _is_native_pack(src):
        return src
    return import_any(src, work / "imported", name=name).path


def _renamed(pack_src: Path, work: Path, name: str) -> Path:
    """A copy of a pack folder or zip whose pack.json carries ``name``."""
    from models.safezip import pack_root, safe_extract

    staged = work / "renamed"
    staged.mkdir()
    if pack_src.is_dir():
        shutil.copytree(pack_src, staged, dirs_exist_ok=True, symlinks=True)
        root = staged
    else:
        safe_extract(pack_src, staged)
        root = pack_root(staged)
    doc_path = root / "pack.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    doc["name"] = name
    doc_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return root


def _recorded_heads(model_pack: Any, folder: Path) -> Sequence[Any]:
    """The heads whose labels become the pack's vocabulary: a multimodal pack's generated
    tags too (models.multimodal_heads), read from the installed ``folder``."""
    if getattr(model_pack, "multimodal", None) is None:
        return tuple(model_pack.heads)
    from models.multimodal_heads import tagging_heads
    from models.pack import load_pack

    return tagging_heads(load_pack(folder))


def install(
    lib: Library,
    src: str | Path,
    *,
    name: str | None = None,
    replace: bool = False,
    classes: str | Path | None = None,
) -> PackSummary:
    """Install a pack (or convert and install an outside model) and record it.

    With ``replace`` an installed pack of the same name is swapped out: its predictions go
    with it (they came from other weights) and it keeps its active state. Raises
    :class:`PackInstallError` with the models package's message for a bad pack.
    """
    from models.errors import PackError
    from models.pack import install_pack, load_pack

    src = Path(src).expanduser()
    if not src.exists():
        raise PackInstallError(f"{src}: no such file or folder")
    packs_dir = lib.location.packs_dir
    packs_dir.mkdir(parents=True, exist_ok=True)
    # Staged beside the installed packs (same file system), so the move into place is a rename.
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=packs_dir))
    try:
        with tempfile.TemporaryDirectory(prefix="animesion-import-") as tmp:
            work = Path(tmp)
            pack_src = _as_pack(src, work, name, None if classes is None else Path(classes))
            model_pack = load_pack(pack_src)
            if name is not None and model_pack.name != name:
                pack_src = _renamed(pack_src, work, name)
                model_pack = load_pack(pack_src)
            with lib.read() as s:
                existing = s.scalar(select(Pack).where(Pack.name == model_pack.name))
            if existing is not None and not replace:
                raise PackInstallError(
                    f"a pack named {model_pack.name!r} is already installed; "
                    "pass --replace to swap it, or --name to install beside it"
                )
            staged = install_pack(pack_src, staging)
            heads = _recorded_heads(model_pack, staged)
        sha = weights_sha256(staged)
        dest = _free_folder(lib, packs_dir, model_pack.name, sha)
        os.replace(staged, dest)
    except PackError as exc:
        raise PackInstallError(str(exc)) from exc
    finally:
        remove_tree(staging)
    pause_point("packs:staged")  # kill -9 tests: new folder in place, nothing recorded yet

    info = pack_info(model_pack, str(src))

    def record(session: Session) -> int:
        old = session.scalar(select(Pack).where(Pack.name == model_pack.name))
        active, touched = True, []
        if old is not None:
            active = old.active
            touched = _delete_pack(session, old)
        pack_id = record_pack(
            session, name=model_pack.name, version=model_pack.version, sha256=sha, path=dest,
            heads=heads, info=info, active=active,
        )
        effective.refresh_images(session.connection(), touched)
        return pack_id

    try:
        lib.write(record)
    except BaseException:
        remove_tree(dest)  # nothing points at it; the old row and folder are untouched
        raise
    pause_point("packs:committed")  # kill -9 tests: recorded, the old folder not yet deleted
    if existing is not None:
        _remove_if_ours(lib, Path(existing.path), keep=dest)
    return get_summary(lib, model_pack.name)


def _referenced(lib: Library) -> set[Path]:
    with lib.read() as s:
        return {Path(p).resolve() for p in s.scalars(select(Pack.path))}


def _free_folder(lib: Library, packs_dir: Path, name: str, sha: str) -> Path:
    """Where a new pack goes: ``packs_dir/name`` unless a recorded pack lives there (a
    replacement goes beside it until the swap is committed). A folder no row points at is a
    leftover of an interrupted install: it is cleared and reused."""
    referenced = _referenced(lib)
    candidates = [name, f"{name}~{sha[:12]}", *(f"{name}~{sha[:12]}-{k}" for k in range(2, 100))]
    for candidate in candidates:
        path = packs_dir / candidate
        if path.resolve() in referenced:
            continue
        if path.exists() or path.is_symlink():
            remove_tree(path)
            if path.exists():
                continue
        return path
    raise PackInstallError(f"{packs_dir}: no free folder for pack {name!r}")


def _remove_if_ours(lib: Library, folder: Path, *, keep: Path) -> None:
    """Delete a replaced pack's folder, only inside our packs folder and only if no row
    points at it any more."""
    packs_dir = lib.location.packs_dir.resolve()
    resolved = folder.resolve()
    if resolved == keep.resolve() or resolved.parent != packs_dir or not folder.is_dir():
        return
    if resolved not in _referenced(lib):
        remove_tree(folder)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def remove(lib: Library, name: str) -> None:
    """Forget a pack: its predictions, run records, embeddings, vocabulary and folder."""

    def apply(session: Session) -> Path:
        pack = _find(session, name)
        path = pack.path
        touched = _delete_pack(session, pack)
        effective.refresh_images(session.connection(), touched)
        return path

    path = lib.write(apply)
    folder = Path(path)
    packs_dir = lib.location.packs_dir.resolve()
    # Only ever delete inside our own packs folder, whatever the row says.
    if folder.resolve().parent == packs_dir and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)


def set_active(lib: Library, name: str, active: bool, *, only: bool = False) -> None:
    """Activate or deactivate a pack (``only``: and deactivate every other one); the effective
    tags follow at once, nothing is rerun."""

    def apply(session: Session) -> None:
        pack = _find(session, name)
        if only:
            session.connection().execute(
                text("UPDATE packs SET active = 0 WHERE id != :p"), {"p": pack.id}
            )
        pack.active = active
        session.flush()
        effective.refresh_all(session.connection())

    lib.write(apply)


def _find(session: Session, name: str) -> Pack:
    pack = session.scalar(select(Pack).where(Pack.name == name))
    if pack is None:
        names = list(session.scalars(select(Pack.name).order_by(Pack.name)))
        known = f"; installed: {', '.join(names)}" if names else "; none are installed"
        raise LibraryError(f"no pack named {name!r}{known}")
    return pack


def list_packs(lib: Library) -> list[PackSummary]:
    with lib.read() as s:
        counts = {
            pack_id: n
            for pack_id, n in s.execute(
                select(InferenceRun.pack_id, func.count()).group_by(InferenceRun.pack_id)
            )
        }
        return [_summary(p, counts.get(p.id, 0)) for p in s.scalars(select(Pack).order_by(Pack.name))]


def get_summary(lib: Library, name: str) -> PackSummary:
    with lib.read() as s:
        pack = _find(s, name)
        images = s.scalar(
            select(func.count()).select_from(InferenceRun).where(InferenceRun.pack_id == pack.id)
        )
        return _summary(pack, int(images or 0))


def _summary(pack: Pack, images: int) -> PackSummary:
    info = pack.info or {}
    heads = tuple((h.get("name", "?"), int(h.get("labels", 0))) for h in info.get("heads", []))
    return PackSummary(pack.id, pack.name, pack.version, str(info.get("backend", "?")),
                       bool(pack.active), Path(pack.path), heads, images, pack.installed_at)


def pack_details(lib: Library, name: str) -> dict[str, Any]:
    """Everything recorded about a pack, as plain JSON-able data (``packs info``)."""
    with lib.read() as s:
        pack = _find(s, name)
        runs = s.execute(
            text("SELECT COUNT(*), COUNT(error) FROM inference_runs WHERE pack_id = :p"),
            {"p": pack.id},
        ).one()
        by_category = {
            category: n
            for category, n in s.execute(
                text("SELECT t.category, COUNT(*) FROM pack_tags pt JOIN tags t ON t.id = pt.tag_id "
                     "WHERE pt.pack_id = :p GROUP BY t.category ORDER BY t.category"),
                {"p": pack.id},
            )
        }
        vocabulary = int(
            s.scalar(select(func.count()).select_from(PackTag).where(PackTag.pack_id == pack.id))
            or 0
        )
        return {
            "name": pack.name,
            "version": pack.version,
            "active": bool(pack.active),
            "path": str(pack.path),
            "sha256": pack.sha256,
            "installed_at": pack.installed_at,
            "vocabulary": vocabulary,
            "vocabulary_by_category": by_category,
            "images_run": int(runs[0]),
            "images_failed": int(runs[1]),
            **(pack.info or {}),
            "precision": _precision_record(Path(pack.path), pack.name),
        }


def _precision_record(path: Path, name: str) -> dict[str, Any] | None:
    """What ``--precision auto`` chose for this pack and the agreement it measured."""
    from models.precision import installed_pack_record

    try:
        return installed_pack_record(path, name)
    except OSError:
        return None


def resolve_pack_path(lib: Library, name: str, recorded: Path) -> Path:
    """The pack's folder: as recorded, or beside the library if the library was moved."""
    if Path(recorded).is_dir():
        return Path(recorded)
    moved = lib.location.packs_dir / Path(recorded).name  # a replaced pack's folder, ``name~sha``
    return moved if moved.is_dir() else lib.location.packs_dir / name
