"""Similar images, suggestions, the few-shot head and the Clusters view, wired into the window.

- the inspector's :class:`SimilarPanel`: its image's suggestions and whether it can be compared
  are read on the read lane; "Find similar" (there and in the grid's context menu) shows the
  ``similar:ID`` search in the grid, nearest first, and the nearest images' scores in the panel;
  accepting or rejecting a suggestion is a label through the label controller (undoable);
- the few-shot head reruns after every label write (:class:`FewshotFollower`), from the grid,
  the inspector, review mode or the Clusters view, and what shows suggestions reloads;
- the Clusters view opens from View ▸ Clusters, Library ▸ Name unknown characters and the tool
  bar; naming a cluster is one undo step on the window's stack.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QToolBar

from animesion_desktop.core.library import Library, files
from animesion_desktop.core.search.neighbours import ranked_neighbours
from animesion_desktop.core.similar.live import SimilarInfo, similar_info
from animesion_desktop.ui.fewshot_follow import FewshotFollower

if TYPE_CHECKING:
    from animesion_desktop.ui.clusters_view import ClustersView
    from animesion_desktop.ui.main_window import MainWindow

SHOWN_NEIGHBOURS = 10
_SUGGESTION_KEYS = ("suggested:", "fewshot:", "propagation:")


def neighbour_rows(lib: Library, image_id: int, k: int = SHOWN_NEIGHBOURS
                   ) -> list[tuple[int, str, float]]:
    """Worker thread: (image id, file name, cosine) of the ``k`` nearest other images."""
    rows = []
    for other, score in ranked_neighbours(lib, image_id, k + 1)[1:]:
        found = files.image_locations(lib, other)
        name = os.path.basename(found[1][0]) if found and found[1] else f"image {other}"
        rows.append((other, name, score))
    return rows


def menu_text(info: SimilarInfo) -> str:
    if info.comparable:
        return "Find similar"
    return ("Find similar (not tagged yet)" if info.pack is not None
            else "Find similar (no pack has embeddings)")


class SimilarController(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.lib = window.lib
        self.panel = window.detail.similar
        self.fewshot = FewshotFollower(window.lib, window.lanes.writes, self)
        self.clusters_view: ClustersView | None = None
        # The last "Find similar": its image and neighbours (shown again whenever the panel
        # shows that image), and the image to select once its search lands.
        self._neighbours: tuple[int, list[tuple[int, str, float]]] | None = None
        self._select_when_shown: int | None = None
        window.grid_controller.searched.connect(self._searched)
        self.panel.info_wanted.connect(self._read_info)
        self.panel.find_requested.connect(self.find_similar)
        self.panel.suggestion_decided.connect(
            lambda image_id, tag, state: window.labels.apply([image_id], tag, state))
        self.panel.neighbour_picked.connect(self._go_to)
        # Every label write (grid, inspector, undo, review) reruns the few-shot head.
        window.labels.changed.connect(lambda _ids, _what: self.fewshot.request())
        window.modes.review.controller.written.connect(lambda _what: self.fewshot.request())
        self.fewshot.updated.connect(self._fewshot_updated)
        self.fewshot.failed.connect(lambda m: window.statusBar().showMessage(m, 10000))
        self._install_actions()

    # -- the inspector ----------------------------------------------------------------------------
    def _read_info(self, image_id: int | None) -> None:
        if image_id is None:
            return
        lib, panel = self.lib, self.panel
        if self._neighbours is not None and self._neighbours[0] == image_id:
            panel.show_neighbours(*self._neighbours)
        status = self.window.statusBar()
        self.window.lanes.reads.run("similar-info", lambda: similar_info(lib, image_id),
                                    panel.show_info, lambda m: status.showMessage(m, 10000))

    def find_similar(self, image_id: int) -> None:
        """The grid shows the nearest images (nearest first); the panel lists their scores."""
        self._select_when_shown = image_id
        self._neighbours = None
        self.window.menus.search(f"similar:{image_id}")
        lib, panel = self.lib, self.panel

        def shown(rows: list[tuple[int, str, float]]) -> None:
            self._neighbours = (image_id, rows)
            panel.show_neighbours(image_id, rows)

        # The grid's search reports its own errors (no embedding, no pack) in the search bar.
        self.window.lanes.reads.run("similar-neighbours", lambda: neighbour_rows(lib, image_id),
                                    shown, lambda _message: None)

    def _searched(self, query: str, _total: int, _kind: str) -> None:
        # The grid was reset to the neighbours: select the image they are near (it is first),
        # so the inspector goes on showing it, with its neighbours' scores.
        image_id = self._select_when_shown
        if image_id is not None and query == f"similar:{image_id}":
            self._select_when_shown = None
            self._go_to(image_id)

    def _go_to(self, image_id: int) -> None:
        w = self.window
        row = w.model.row_for(image_id)
        if row is not None:
            index = w.model.index(row)
            w.grid.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            w.grid.scrollTo(index)

    def _fewshot_updated(self, _made: int | None) -> None:
        self.panel.set_image(self.panel.image_id)  # re-reads its suggestions
        self.window.modes.review.suggested.refresh()
        query = self.window.grid_controller.query
        if any(key in query for key in _SUGGESTION_KEYS):
            self.window.grid_controller.refresh()

    # -- the grid's context menu --------------------------------------------------------------------
    def add_to_menu(self, menu: QMenu, image_id: int) -> QAction:
        """"Find similar" for the image under the pointer: disabled until the read lane says
        it has an embedding, and then disabled with the reason if it has none."""
        act = menu.addAction("Find similar (checking…)", lambda: self.find_similar(image_id))
        act.setEnabled(False)
        menu.setToolTipsVisible(True)
        lib = self.lib

        def checked(info: SimilarInfo) -> None:
            try:
                act.setEnabled(info.comparable)
                act.setText(menu_text(info))
                act.setToolTip(info.reason or "The nearest images by the pack's embedding")
            except RuntimeError:  # the menu closed and took the action with it
                pass

        self.window.lanes.reads.run("similar-menu", lambda: similar_info(lib, image_id), checked)
        return act

    # -- the Clusters view ----------------------------------------------------------------------------
    def _install_actions(self) -> None:
        w = self.window
        menus = w.menus
        self.act_clusters = QAction("&Clusters of unknown characters", w)
        self.act_clusters.setShortcut(QKeySequence("Ctrl+3"))
        self.act_clusters.setToolTip("Groups of images no pack recognises: name them")
        self.act_clusters.triggered.connect(lambda _checked=False: self.open_clusters())
        menus.view.insertAction(menus.act_refresh, self.act_clusters)
        w.addAction(self.act_clusters)
        self.act_name_unknown = QAction("&Name unknown characters…", w)
        self.act_name_unknown.triggered.connect(lambda _checked=False: self.open_clusters())
        menus.library.addAction(self.act_name_unknown)
        bar = w.findChild(QToolBar)
        if bar is not None:
            self.act_clusters_tool = QAction("Clusters", w)
            self.act_clusters_tool.setToolTip(self.act_clusters.toolTip())
            self.act_clusters_tool.triggered.connect(lambda _checked=False: self.open_clusters())
            bar.addAction(self.act_clusters_tool)

    def open_clusters(self) -> ClustersView:
        from animesion_desktop.ui.clusters_view import ClustersView

        w = self.window
        view = self.clusters_view
        if view is None:
            view = ClustersView(w.lib, w.lanes, w, stack=w.labels.stack)
            view.setWindowFlag(Qt.WindowType.Window)
            view.resize(1000, 640)
            view.labels_changed.connect(self._cluster_labels_changed)
            view.query_requested.connect(self._show_query)
            self.clusters_view = view
        view.show()
        view.raise_()
        view.activateWindow()
        view.refresh()
        return view

    def _cluster_labels_changed(self, image_ids: list[int]) -> None:
        w = self.window
        w.model.invalidate_rows(image_ids)
        w.grid_controller.refresh()
        self.panel.set_image(self.panel.image_id)
        w.modes.review.suggested.refresh()

    def _show_query(self, query: str) -> None:
        self.window.menus.search(query)
        self.window.raise_()
        self.window.activateWindow()


def install_similar(window: MainWindow) -> SimilarController:
    return SimilarController(window)
