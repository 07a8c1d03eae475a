"""Finding a pack's identity adapter (models/identity.py) for the few-shot head.

``animesion-train metric PACK`` writes it into the pack's folder as ``identity.safetensors``.
It is used only when its metadata names the weights whose embeddings the library stored (the
pack's sha256): an adapter trained for other weights would map vectors it never saw. A file
that cannot be used is named in one log line and the head goes on without it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import text

from animesion_desktop.core.library import Library
from animesion_desktop.core.tagging.packs_registry import resolve_pack_path
from models.identity import FILE_NAME, IdentityAdapter, IdentityFileError, load_adapter

log = logging.getLogger(__name__)


def adapter_path(lib: Library, pack_id: int) -> tuple[Path, str] | None:
    """(where the pack's adapter would be, the pack's weights sha256), or None: no such pack."""
    with lib.read() as s:
        row = s.execute(text("SELECT name, path, sha256 FROM packs WHERE id = :p"),
                        {"p": pack_id}).first()
    if row is None:
        return None
    folder = resolve_pack_path(lib, str(row[0]), Path(row[1]))
    return folder / FILE_NAME, str(row[2])


def pack_adapter(lib: Library, pack_id: int, dim: int | None = None) -> IdentityAdapter | None:
    """The pack's adapter when there is a usable one for its stored ``dim``-d embeddings."""
    found = adapter_path(lib, pack_id)
    if found is None:
        return None
    path, sha = found
    if not path.is_file():
        return None
    try:
        adapter = load_adapter(path)
    except IdentityFileError as exc:
        log.warning("identity adapter not used: %s", exc)
        return None
    if adapter.info.pack_sha256 != sha:
        log.warning("identity adapter not used: %s: field 'pack_sha256' names other weights "
                    "than the installed pack's (retrain it with animesion-train metric)", path)
        return None
    if dim is not None and adapter.dim != dim:
        log.warning("identity adapter not used: %s: field 'input_dim' is %d, the stored "
                    "embeddings are %d-d", path, adapter.dim, dim)
        return None
    return adapter
