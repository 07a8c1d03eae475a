"""First run: an empty library shows what to do instead of a blank grid.

Add a folder (or drop one on the window), install a pack, or open the demo library (the one
``make run`` builds in a source checkout, when it is there). The page only emits requests.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

DEMO_LIBRARY = Path(__file__).resolve().parents[2] / ".demo" / "library.sqlite"


def dropped_folders(event: QDragEnterEvent | QDropEvent) -> list[str]:
    """The local folders a drag carries (empty unless it carries folders only)."""
    urls = event.mimeData().urls()
    folders = [u.toLocalFile() for u in urls if u.isLocalFile() and Path(u.toLocalFile()).is_dir()]
    return folders if urls and len(folders) == len(urls) else []


class WelcomePage(QWidget):
    add_folder_requested = Signal()
    folder_dropped = Signal(str)
    install_pack_requested = Signal()
    demo_requested = Signal(str)  # path of the demo library

    def __init__(self, demo: Path = DEMO_LIBRARY, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.demo = demo
        title = QLabel("Welcome to Animesion Desktop")
        title.setStyleSheet("font-size: 20pt; font-weight: bold;")
        # Broken by hand: a word-wrapped label centred in a box layout is given one line.
        text = QLabel("Your library is empty. Add a folder of pictures: they stay where they\n"
                      "are, the library only indexes them. Then tag them with a model pack\n"
                      "and review what it finds.")
        text.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.add_button = QPushButton("Add a folder…")
        self.add_button.setToolTip("Or drop a folder anywhere on the window")
        self.pack_button = QPushButton("Install a model pack…")
        self.demo_button = QPushButton("Open the demo library")
        self.demo_button.setEnabled(demo.exists())
        self.demo_button.setToolTip(str(demo) if demo.exists()
                                    else "Run `make run` in a source checkout to build it")
        self.add_button.clicked.connect(self.add_folder_requested)
        self.pack_button.clicked.connect(self.install_pack_requested)
        self.demo_button.clicked.connect(lambda: self.demo_requested.emit(str(self.demo)))
        hint = QLabel("Or drop a folder anywhere on this window.")
        hint.setStyleSheet("color: gray;")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (title, text, self.add_button, self.pack_button, self.demo_button, hint):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
            if isinstance(w, QPushButton):
                w.setMinimumWidth(260)
        layout.addStretch(2)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if dropped_folders(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        for folder in dropped_folders(event):
            self.folder_dropped.emit(folder)
        event.acceptProposedAction()
