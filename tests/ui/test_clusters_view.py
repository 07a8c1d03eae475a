"""The Clusters view: rows of thumbnails from a real scan, naming a cluster by typing and
clicking, which labels its images on the write lane."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt

from animesion_desktop.core.jobs import run_to_end
from animesion_desktop.core.library import Library
from animesion_desktop.core.library.schema import Pack
from animesion_desktop.core.scan import scan_roots
from animesion_desktop.core.similar import clusters
from animesion_desktop.core.tagging.store import StoredImage, write_batch
from animesion_desktop.ui.clusters_view import ClustersView
from animesion_desktop.ui.lanes import Lanes


def clustered_library(tmp_path: Path) -> Library:
    pics = tmp_path / "pics"
    pics.mkdir()
    colours = {"r": (220, 30, 30), "g": (30, 200, 30), "b": (30, 30, 220)}
    names = [f"{c}{i}" for c, n in (("r", 4), ("g", 3), ("b", 1)) for i in range(n)]
    for name in names:
        Image.new("RGB", (40 + int(name[1:]), 30), colours[name[0]]).save(pics / f"{name}.png")
    lib = Library.open(tmp_path / "lib.sqlite")
    lib.add_root(pics)
    run_to_end(scan_roots(lib, [pics], threading.Event()))
    def add_pack(s) -> int:
        pack = Pack(name="p", version="1", sha256="0" * 64, path=tmp_path / "p", active=True,
                    installed_at=0.0, info={})
        s.add(pack)
        s.flush()
        return pack.id

    pack_id = lib.write(add_pack)
    axis = {"r": 0, "g": 1, "b": 2}
    batch = []
    for name in names:
        v = np.zeros(4, dtype="<f2")
        v[axis[name[0]]] = 1.0
        v[3] = 0.01 * int(name[1:])
        batch.append(StoredImage(lib.image_for_path(pics / f"{name}.png"), None, {},
                                 v.tobytes(), 4))
    lib.write(lambda s: write_batch(s, pack_id, batch))
    run_to_end(clusters.cluster_unknowns(lib, pack_id))
    return lib


def test_naming_a_cluster_in_the_view_labels_it(qtbot, tmp_path: Path) -> None:
    lib = clustered_library(tmp_path)
    lanes = Lanes()
    try:
        view = ClustersView(lib, lanes)
        qtbot.addWidget(view)
        qtbot.waitUntil(lambda: len(view.rows) == 2, timeout=10_000)
        assert [r.thumbs.count() for r in view.rows] == [4, 3]
        assert not view.rows[0].thumbs.item(0).icon().isNull()  # the scan's thumbnail
        first = view.rows[0]
        first.thumbs.item(0).setSelected(True)
        first.thumbs.item(1).setSelected(True)
        qtbot.keyClicks(first.name_edit, "rosa")
        with qtbot.waitSignal(view.named, timeout=10_000) as got:
            qtbot.mouseClick(first.name_button, Qt.MouseButton.LeftButton)
        assert got.args == [first.cluster_id, "rosa", 2]
        chosen = [first.thumbs.item(i).data(Qt.ItemDataRole.UserRole) for i in (0, 1)]
        for image_id in chosen:
            assert lib.labels(image_id)[0][:4] == ("character", "rosa", "accepted", "user")
        assert "named rosa" in first.title.text()
    finally:
        lanes.shut_down()
        lib.close()
