"""Names proposed for an image, each with its own source and confidence.

Suggestions are not labels: ``fewshot`` (the prototype head built from the user's labels) and
``propagation`` (a name given to a cluster, proposed for look-alikes). The list shows them in
the inspector and, as :class:`SuggestionStrip`, in review mode, which reads them itself on a
worker thread (the page has no read lane of its own).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core.library import Library
from animesion_desktop.core.similar import suggestions
from animesion_desktop.core.similar.suggestions import Suggested
from animesion_desktop.ui.lanes import TaskRunner

SOURCE_HELP = {
    suggestions.FEWSHOT: "the few-shot head, from the images you labelled (search fewshot:NAME)",
    suggestions.PROPAGATION: "a cluster you named, proposed for look-alikes "
                             "(search propagation:NAME)",
}
TAG_ROLE = Qt.ItemDataRole.UserRole


class SuggestionList(QTreeWidget):
    """Suggested tag · source · confidence, best first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Suggested", "Source", "Confidence"])
        self.setRootIsDecorated(False)
        self.setObjectName("suggestions")
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.setMaximumHeight(110)

    def show_suggestions(self, rows: Sequence[Suggested]) -> None:
        self.clear()
        for row in rows:
            item = QTreeWidgetItem([row.tag, row.source, f"{row.score:.2f}"])
            item.setData(0, TAG_ROLE, row.tag)
            item.setToolTip(1, SOURCE_HELP.get(row.source, row.source))
            self.addTopLevelItem(item)
        first = self.topLevelItem(0)
        if first is not None:
            self.setCurrentItem(first)

    def current_tag(self) -> str | None:
        item = self.currentItem()
        return None if item is None else str(item.data(0, TAG_ROLE))

    def rows(self) -> list[tuple[str, str, str]]:
        """(tag, source, confidence) as shown, top to bottom."""
        out = []
        for i in range(self.topLevelItemCount()):
            item = self.topLevelItem(i)
            if item is not None:
                out.append((item.text(0), item.text(1), item.text(2)))
        return out


class SuggestionStrip(QWidget):
    """Review mode's view of the suggestions for the image under review (read-only: the
    review keys decide; accepting a suggestion is the inspector's job)."""

    loaded = Signal(int)  # image id whose suggestions are shown

    def __init__(self, lib: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lib = lib
        self._runner = TaskRunner(parent=self)
        self._image_id: int | None = None
        self.title = QLabel("Also suggested")
        self.title.setStyleSheet("font-weight: bold;")
        self.list = SuggestionList()
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # every key stays with the page
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.list)
        self.setVisible(False)

    @property
    def pending(self) -> int:
        return self._runner.pending

    def show_for(self, image_id: int | None) -> None:
        self._image_id = image_id
        if image_id is None:
            self.list.clear()
            self.setVisible(False)
            return
        lib = self._lib

        def done(rows: list[Suggested]) -> None:
            if image_id != self._image_id:
                return  # the reviewer moved on meanwhile
            self.list.show_suggestions(rows)
            self.setVisible(bool(rows))
            self.loaded.emit(image_id)

        self._runner.run(lambda: suggestions.list_suggestions(lib, image_id=image_id), done)

    def refresh(self) -> None:
        self.show_for(self._image_id)
