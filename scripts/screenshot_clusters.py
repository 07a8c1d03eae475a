"""Render docs/clusters.png: the Clusters view, opened from the window, offscreen.

    .venv/bin/python scripts/screenshot_clusters.py [--work DIR] [--out docs]

Synthetic "toy characters" the demo pack never saw (another character seed; never real art),
the shipped demo pack, a scan, a tagging run and the pack's (wrong) guesses rejected, in DIR (default: a temp folder; reused when it
is already built). Then the window opens View ▸ Clusters, finds the clusters (the view's own
button, a job) and names two images of the first one, as a user would.
"""

from __future__ import annotations

import functools
from pathlib import Path

import shot_kit

settle = functools.partial(shot_kit.settle, rounds=1000)  # finding clusters is a job


def none_of_these(path: Path) -> None:
    """The pack was never shown these characters but guesses one anyway: reject its guesses,
    as "None of these" (N) in review does, so they count as unknown."""
    from animesion_desktop.core.library import Library

    with Library.open(path) as lib:
        for image_id in range(1, lib.image_count() + 1):
            for category, name in lib.effective_tags(image_id):
                if category == "character":
                    lib.set_label([image_id], f"character:{name}", "rejected")


def main(argv: list[str] | None = None) -> int:
    args = shot_kit.arguments(__doc__, "where the library is built (kept)",
                              "animesion-clusters-shot", argv)
    lib_path = shot_kit.build_library(
        args.work, ("--characters", "6", "--per-character", "7", "--size", "192", "--seed", "13",
                    "--image-seed", "2026"), then=none_of_these)

    from PySide6.QtCore import Qt

    from animesion_desktop.core.library import Library
    from animesion_desktop.ui.main_window import MainWindow

    app = shot_kit.application()
    shot_kit.default_settings(args.work)
    with Library.open(lib_path) as lib:
        window = MainWindow(lib)
        window.resize(1400, 860)
        window.show()
        window.grid_controller.run_search("")
        settle(app, window.lanes.idle)
        window.similar.act_clusters.trigger()
        view = window.similar.clusters_view
        assert view is not None
        view.resize(1000, 640)
        view.recluster_button.click()
        settle(app, lambda: window.lanes.idle() and bool(view.rows))
        first = view.rows[0]
        for i in range(min(2, first.thumbs.count())):
            first.thumbs.item(i).setSelected(True)
        first.name_edit.setText("hikari_oc")
        first.name_button.click()
        settle(app, lambda: window.lanes.idle() and "named" in first.title.text())
        first.thumbs.clearSelection()
        view.rows[1].name_edit.setText("ren")
        view.rows[1].name_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        settle(app)
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "clusters.png"
        view.grab().save(str(path))
        print(path)
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
