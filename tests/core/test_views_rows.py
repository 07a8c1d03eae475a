"""Grid rows: one read a batch of ids (chunked), effective tags in the inspector's order."""

from __future__ import annotations

from pathlib import Path

import tagging_kit as kit

from animesion_desktop.core import views
from animesion_desktop.core.library import Library


def test_grid_rows_carry_paths_and_tags_for_more_ids_than_one_statement_binds(tmp_path: Path
                                                                              ) -> None:
    lib = Library.open(tmp_path / "lib.sqlite")
    try:
        root = tmp_path / "art"
        paths = [kit.make_image(root / f"{i:04d}.png", (i % 250, 3, 4), size=8) for i in range(620)]
        ids = kit.add_files(lib, root, paths)
        pack = kit.register_fake_pack(lib)
        kit.add_predictions(lib, pack.id, {ids[0]: {"red": 0.9, "character:alice": 0.8,
                                                    "blue": 0.7},
                                           ids[619]: {"red": 0.9}})
        rows = views.grid_rows(lib, [ids[619], *ids[:600], 10**9])  # past one chunk; one unknown
        assert len(rows) == 601
        by_id = {r.image_id: r for r in rows}
        assert by_id[ids[0]].tags == ("character:alice", "blue", "red")  # characters first
        assert by_id[ids[619]].tags == ("red",)
        assert by_id[ids[5]].tags == ()
        assert by_id[ids[5]].path == f"{root.resolve()}/0005.png"
    finally:
        lib.close()
