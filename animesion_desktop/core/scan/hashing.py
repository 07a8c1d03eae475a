"""Content hashes: an image *is* the SHA-256 of its file's bytes (64 hex digits).

SHA-256 runs at well over 1 GB/s with SHA extensions, and ``hashlib`` releases the GIL for
buffers this large, so several worker threads hash in parallel.
"""

from __future__ import annotations

import hashlib

CHUNK = 1 << 20
# Files up to this size are read once into memory: hashed, then decoded from the same bytes.
WHOLE_FILE_LIMIT = 64 << 20


def hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_and_hash(path: bytes, size_hint: int) -> tuple[str, bytes | None]:
    """Hash a file with chunked reads; also return its bytes when it is small enough to keep.

    Raises ``OSError`` (the file vanished, permissions, I/O errors) for the caller to record.
    """
    digest = hashlib.sha256()
    keep = size_hint <= WHOLE_FILE_LIMIT
    parts: list[bytes] = []
    kept = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            chunk = f.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            if keep:
                kept += len(chunk)
                if kept > WHOLE_FILE_LIMIT:  # it grew since it was listed
                    keep, parts = False, []
                else:
                    parts.append(chunk)
    data = (parts[0] if len(parts) == 1 else b"".join(parts)) if keep else None
    return digest.hexdigest(), data
