"""The menu bar (File, Edit, View, Library, Models, Help) and the grid's context menu.

Standard shortcuts come from QKeySequence.StandardKey, so each platform gets its own (Ctrl+O /
Cmd+O ...). Actions only call what the window and its controllers already offer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox

from animesion_desktop.core.review import review_item
from animesion_desktop.ui.image_model import IMAGE_ID_ROLE, PATH_ROLE
from animesion_desktop.ui.modes import Modes
from animesion_desktop.ui.review.controller import CHARACTER, GENERAL

if TYPE_CHECKING:
    from animesion_desktop.ui.main_window import MainWindow
    from animesion_desktop.ui.packs_dialog import PacksDialog

REVIEW_KEYS = (
    "Review mode (Library ▸ Review characters, Ctrl+R; Review general tags, Ctrl+Shift+R; "
    "or the tabs above the image):\n\n"
    "Enter or A — accept the top guess (the tag)\n"
    "R — reject it\n"
    "1–5 — pick that candidate (accepts it, rejects the top guess)\n"
    "N — none of these (rejects all five, marks “unknown character”)\n"
    "← → or J / K — previous / next image\n"
    "Ctrl+Z — undo, Ctrl+Shift+Z — redo\n"
    "Esc — back to the grid\n\n"
    "Viewer (Space or double-click on an image in the grid or the inspector's preview):\n\n"
    "← → — previous / next image of the result\n"
    "F — fit the window, 1 — 100 %, + / − or Ctrl+wheel — zoom\n"
    "Esc or Space — close"
)


class WindowMenus(QObject):
    def __init__(self, window: MainWindow, modes: Modes) -> None:
        super().__init__(window)
        self.window, self.modes = window, modes
        self.packs_dialog: PacksDialog | None = None
        bar = window.menuBar()
        w = window
        self.file = bar.addMenu("&File")
        self.act_add = self._act(self.file, "&Add folder…", w._add_folder,
                                 QKeySequence.StandardKey.Open)
        self.act_install = self._act(self.file, "&Install model pack…", self.open_packs)
        from animesion_desktop.ui.exchange_actions import ExchangeActions  # issue 11

        self.exchange = ExchangeActions(w, self.tag_with)
        self.act_import = self._act(self.file, "I&mport labels…", self.exchange.open_import)
        self.act_export = self._act(self.file, "&Export…", self.exchange.open_export, "Ctrl+E")
        self.file.addSeparator()
        self.act_settings = self._act(self.file, "&Settings…", w.prefs.open_dialog,
                                      QKeySequence.StandardKey.Preferences)
        self.file.addSeparator()
        self._act(self.file, "&Quit", w.close, QKeySequence.StandardKey.Quit)

        self.edit = bar.addMenu("&Edit")
        self.edit.addAction(w.act_undo)
        self.edit.addAction(w.act_redo)
        self.edit.addSeparator()
        self.act_select_all = self._act(self.edit, "Select &all", w.select_all,
                                        QKeySequence.StandardKey.SelectAll)
        self._act(self.edit, "&Find", w.search_bar.setFocus, QKeySequence.StandardKey.Find)

        self.view = bar.addMenu("&View")
        self.act_grid = self._act(self.view, "&Grid", modes.show_grid, "Ctrl+1")
        self.act_review = self._act(self.view, "&Review mode", modes.show_review, "Ctrl+2")
        self.act_refresh = self._act(self.view, "Re&fresh", w.grid_controller.refresh,
                                     QKeySequence.StandardKey.Refresh)

        self.library = bar.addMenu("&Library")
        self.library.addAction(self.act_add)
        self._act(self.library, "&Rescan all folders", w.jobs.scan_all)
        self.act_review_characters = self._act(
            self.library, "Review &characters", lambda: modes.show_review(queue=CHARACTER),
            "Ctrl+R")
        self.act_review_tags = self._act(
            self.library, "Review &general tags", lambda: modes.show_review(queue=GENERAL),
            "Ctrl+Shift+R")

        self.models = bar.addMenu("&Models")
        self.act_packs = self._act(self.models, "&Packs and thresholds…", self.open_packs,
                                   "Ctrl+Shift+P")
        self._act(self.models, "&Tag new images", w.jobs.tag_new)
        self.act_train = self._act(self.models, "T&rain a model from my labels…",
                                   self.exchange.open_train)

        self.help = bar.addMenu("&Help")
        self._act(self.help, "&Review keys", self.show_review_keys)
        self._act(self.help, "&About", self.show_about)

        modes.welcome.install_pack_requested.connect(self.open_packs)
        w.grid.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        w.grid.customContextMenuRequested.connect(self._grid_menu_at)
        self.context_menu: QMenu | None = None

    def _act(self, menu: QMenu, text: str, slot, shortcut=None) -> QAction:  # type: ignore[no-untyped-def]
        act = QAction(text, self.window)
        act.triggered.connect(lambda _checked=False: slot())
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        menu.addAction(act)
        self.window.addAction(act)  # shortcuts work with the menu bar hidden too
        return act

    # -- dialogs ------------------------------------------------------------------------------
    def open_packs(self) -> None:
        from animesion_desktop.ui.packs_dialog import PacksDialog

        w = self.window
        dialog = self.packs_dialog
        if dialog is None:
            dialog = PacksDialog(w.lib, w.lanes.writes, w.labels.stack, w)
            dialog.changed.connect(lambda what: w.statusBar().showMessage(what, 5000))
            dialog.changed.connect(lambda _what: w.grid_controller.refresh())
            dialog.tag_requested.connect(self.tag_with)
            self.packs_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.reload()

    def tag_with(self, pack: str) -> None:
        import threading

        from animesion_desktop.ui.lanes import QueuedJob

        lib = self.window.lib

        device = self.window.prefs.settings.device
        device_arg = None if device == "auto" else device

        def make(cancel: threading.Event):  # type: ignore[no-untyped-def]
            from animesion_desktop.core.tagging import tag_images

            return tag_images(lib, pack, cancel, device=device_arg)

        self.window.jobs.lane.submit(QueuedJob(f"Tag with {pack}", make))

    def show_review_keys(self) -> None:
        QMessageBox.information(self.window, "Review keys", REVIEW_KEYS)

    def show_about(self) -> None:
        QMessageBox.about(self.window, "About Animesion Desktop",
                          "Animesion Desktop: index, recognize, tag, search and review a local "
                          "anime art collection.")

    # -- the grid's context menu --------------------------------------------------------------
    def _grid_menu_at(self, pos: QPoint) -> None:
        menu = self.grid_menu(self.window.grid.indexAt(pos))
        if menu is not None:
            menu.popup(self.window.grid.viewport().mapToGlobal(pos))

    def grid_menu(self, index) -> QMenu | None:  # type: ignore[no-untyped-def]
        """The menu for the image under the pointer (built, not shown: tests trigger it)."""
        if not index.isValid():
            return None
        w = self.window
        path = index.data(PATH_ROLE) or ""
        # The selection if the pointer is on it, else just the image under the pointer.
        clicked = int(index.data(IMAGE_ID_ROLE))
        ids = w.selected_ids()
        if clicked not in ids:
            ids = [clicked]
        menu = QMenu(w)
        n = len(ids)
        open_act = menu.addAction("Open with the default application",
                                  lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(path)))
        reveal = menu.addAction("Reveal in the file manager", lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(Path(path).parent))))
        copy = menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(path))
        for act in (open_act, reveal, copy):
            act.setEnabled(bool(path))
        menu.addSeparator()
        suffix = f" on {n} images" if n > 1 else ""
        menu.addAction(f"Accept the top character{suffix}", lambda: self.top_character(ids, True))
        menu.addAction(f"Reject the top character{suffix}", lambda: self.top_character(ids, False))
        menu.addAction("Review these images", lambda: self.modes.show_review(
            self.window.grid_controller.query))
        menu.addAction("Find near-duplicates", lambda: self.search(f"duplicate:{clicked}"))
        w.similar.add_to_menu(menu, clicked)  # issue 13: enabled once it has an embedding
        self.context_menu = menu
        return menu

    def search(self, query: str) -> None:
        self.window.search_bar.setText(query)
        self.window.grid_controller.run_search(query)

    def top_character(self, ids: list[int], accept: bool) -> None:
        """Accept or reject each image's own best character guess: one undo step per tag."""
        w, lib = self.window, self.window.lib

        def read() -> dict[str, list[int]]:
            by_tag: dict[str, list[int]] = {}
            for image_id in ids:
                item = review_item(lib, image_id)
                if item is not None and item.top is not None:
                    by_tag.setdefault(item.top.tag, []).append(image_id)
            return by_tag

        def apply(by_tag: dict[str, list[int]]) -> None:
            if not by_tag:
                w.statusBar().showMessage("No character guess on these images", 5000)
            for tag, tag_ids in by_tag.items():
                w.labels.apply(tag_ids, tag, "accepted" if accept else "rejected")

        w.lanes.reads.run(None, read, apply, w._error)


def install_menus(window: MainWindow, modes: Modes) -> WindowMenus:
    return WindowMenus(window, modes)
