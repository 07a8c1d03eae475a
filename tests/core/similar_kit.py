"""Libraries with embeddings written through the tagging store, for the similar tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from library_kit import add_images
from sqlalchemy import text
from tagging_kit import register_fake_pack

from animesion_desktop.core.library import Library
from animesion_desktop.core.tagging.store import StoredImage, write_batch


def store_embeddings(lib: Library, pack_id: int, ids: Sequence[int], vectors: np.ndarray,
                     scores: dict[int, dict[int, float]] | None = None) -> None:
    """As a tagging run does: replace each image's predictions and embedding."""
    batch = [StoredImage(i, None, (scores or {}).get(i, {}),
                         np.asarray(v, dtype="<f2").tobytes(), len(v))
             for i, v in zip(ids, vectors, strict=True)]
    lib.write(lambda s: write_batch(s, pack_id, batch))


def embedded_library(lib: Library, root_id: int, vectors: np.ndarray, pack: str = "fake"
                     ) -> tuple[int, list[int]]:
    pack_id = register_fake_pack(lib, pack).id
    ids = add_images(lib, root_id, [{} for _ in vectors])
    store_embeddings(lib, pack_id, ids, vectors)
    return pack_id, ids


def delete_images(lib: Library, ids: Sequence[int]) -> None:
    lib.write(lambda s: s.execute(text("DELETE FROM images WHERE id IN "
                                       f"({','.join(str(int(i)) for i in ids)})")))
