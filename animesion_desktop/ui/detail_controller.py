"""Feeds the detail panel: reads the focused image's detail and preview on the read lane.

Each read is of kind "detail" or "preview", so when the user clicks on before an answer lands,
only the newest image is shown.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QImage

from animesion_desktop.core import views
from animesion_desktop.core.image_view import ImageView, image_view
from animesion_desktop.core.library import Library
from animesion_desktop.ui.detail_panel import DetailPanel
from animesion_desktop.ui.lanes import ReadLane


class DetailController(QObject):
    def __init__(self, lib: Library, reads: ReadLane, panel: DetailPanel,
                 on_error: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lib, self._reads, self._panel, self._on_error = lib, reads, panel, on_error

    def show(self, selected: list[int], current: int | None) -> None:
        """The current image if it is selected, else the first selected one, else nothing."""
        focus = current if current in selected else (selected[0] if selected else None)
        reads, lib, panel, n = self._reads, self._lib, self._panel, len(selected)
        if focus is None:
            # Through the lane too, so an older answer still on its way cannot land after this.
            reads.run("detail", lambda: None, lambda _: panel.show_detail(None, 0))
            return

        def shown(detail: ImageView | None) -> None:
            panel.show_detail(detail, n)
            if detail is not None:
                path = views.thumbnail_file(lib, detail.hash)
                reads.run("preview", lambda: QImage(path), panel.show_preview)

        reads.run("detail", lambda: image_view(lib, focus), shown, self._on_error)
