"""The Clusters view: groups of images no pack recognises, each a row of thumbnails, largest
first; type a name and press Name to label a cluster (or the thumbnails selected in it).

Reads (clusters, thumbnails) go on the read lane, naming on the write lane, reclustering on the
job lane; the widget never touches the library on the GUI thread. Given the window's undo
stack, a naming is one undo step (Ctrl+Z takes the labels back and recomputes what the name was
proposed for). The window opens it from View ▸ Clusters (ui/similar_controller.py).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QKeySequence, QPixmap, QShortcut, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core.library import Library, files
from animesion_desktop.core.scan.thumbnails import thumbnail_path
from animesion_desktop.core.similar import clusters
from animesion_desktop.ui.lanes import Lanes, QueuedJob

ICON = 96
SHOWN = 12  # thumbnails per cluster row


def _cluster_rows(lib: Library) -> list[dict[str, Any]]:
    """Worker thread: each cluster with the thumbnails (as QImage) of its first images."""
    out = []
    for c in clusters.list_clusters(lib):
        thumbs = []
        for image_id in c.image_ids[:SHOWN]:
            found = files.image_locations(lib, image_id)
            path = None if found is None else thumbnail_path(lib.location.thumbs_dir, found[0])
            image = QImage(str(path)) if path is not None and path.exists() else QImage()
            thumbs.append((image_id, image))
        out.append({"id": c.id, "size": c.size, "thumbs": thumbs})
    return out


class ClusterRow(QWidget):
    def __init__(self, row: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cluster_id: int = row["id"]
        layout = QVBoxLayout(self)
        head = QHBoxLayout()
        self.title = QLabel(f"Cluster {row['id']} — {row['size']} images")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Character name")
        self.name_button = QPushButton("Name")
        self.proposals_button = QPushButton("Show proposals")
        self.proposals_button.setToolTip("The images this name is proposed for, in the grid")
        self.proposals_button.setVisible(False)
        self.title_text = self.title.text()
        self.named_as: str | None = None
        head.addWidget(self.title, 1)
        head.addWidget(self.name_edit)
        head.addWidget(self.name_button)
        head.addWidget(self.proposals_button)
        layout.addLayout(head)
        self.thumbs = QListWidget()
        self.thumbs.setViewMode(QListWidget.ViewMode.IconMode)
        self.thumbs.setFlow(QListWidget.Flow.LeftToRight)
        self.thumbs.setWrapping(False)
        self.thumbs.setIconSize(QSize(ICON, ICON))
        self.thumbs.setFixedHeight(ICON + 28)
        self.thumbs.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        for image_id, image in row["thumbs"]:
            item = QListWidgetItem()
            if not image.isNull():
                item.setIcon(QIcon(QPixmap.fromImage(image.scaled(
                    ICON, ICON, Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation))))
            item.setData(Qt.ItemDataRole.UserRole, image_id)
            item.setToolTip(f"image {image_id}")
            self.thumbs.addItem(item)
        layout.addWidget(self.thumbs)

    def selected_ids(self) -> list[int]:
        return [int(i.data(Qt.ItemDataRole.UserRole)) for i in self.thumbs.selectedItems()]


class NameCommand(QUndoCommand):
    """Naming a cluster as one undo step; both directions run on the write lane."""

    def __init__(self, view: ClustersView, cluster_id: int, name: str,
                 chosen: list[int] | None) -> None:
        super().__init__(f"Name cluster {cluster_id} {name}")
        self._view, self._cluster, self._name, self._chosen = view, cluster_id, name, chosen
        self._naming: clusters.Naming | None = None  # the lane's thread only

    def redo(self) -> None:
        lib, cluster_id, name, chosen = self._view.lib, self._cluster, self._name, self._chosen

        def do() -> clusters.Naming:
            self._naming = clusters.name_cluster(lib, cluster_id, name, chosen)
            return self._naming

        self._view.lanes.writes.run(do, lambda n: self._view._named(cluster_id, name, n),
                                    self._view._failed)

    def undo(self) -> None:
        lib = self._view.lib

        def do() -> list[int]:
            naming, self._naming = self._naming, None
            if naming is None:
                return []
            clusters.undo_naming(lib, naming)
            return naming.labelled

        self._view.lanes.writes.run(do, lambda ids: self._view._unnamed(self._cluster, ids),
                                    self._view._failed)


class ClustersView(QWidget):
    """Clusters of the pack's unknown images; emits ``named(cluster id, name, labelled)``."""

    named = Signal(int, str, int)
    loaded = Signal(int)
    labels_changed = Signal(list)  # image ids whose labels a naming (or its undo) changed
    query_requested = Signal(str)  # a search to show in the grid

    def __init__(self, lib: Library, lanes: Lanes, parent: QWidget | None = None,
                 stack: QUndoStack | None = None) -> None:
        super().__init__(parent)
        self.lib, self.lanes, self.stack = lib, lanes, stack
        self.setWindowTitle("Clusters of unknown characters")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.status = QLabel("Loading clusters…")
        self.status.setWordWrap(True)
        self.recluster_button = QPushButton("Find clusters again")
        self.recluster_button.setToolTip("Cluster the images no pack recognises (a job: the "
                                         "status bar shows it)")
        self.recluster_button.clicked.connect(self.recluster)
        top.addWidget(self.status, 1)
        top.addWidget(self.recluster_button)
        layout.addLayout(top)
        if stack is not None:  # the window's history: Ctrl+Z here undoes a naming too
            for key, slot in ((QKeySequence.StandardKey.Undo, stack.undo),
                              (QKeySequence.StandardKey.Redo, stack.redo)):
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)
        lanes.jobs.finished.connect(self._job_finished)
        self.list = QListWidget()
        layout.addWidget(self.list, 1)
        self.rows: list[ClusterRow] = []
        self.refresh()

    def refresh(self) -> None:
        self.lanes.reads.run("clusters", lambda: _cluster_rows(self.lib), self._show,
                             self._failed)

    def _failed(self, message: str) -> None:
        self.status.setText(message)

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self.list.clear()
        self.rows = []
        for row in rows:
            widget = ClusterRow(row)
            widget.name_button.clicked.connect(lambda _=False, w=widget: self._name(w))
            widget.name_edit.returnPressed.connect(lambda w=widget: self._name(w))
            widget.proposals_button.clicked.connect(
                lambda _=False, w=widget: self._show_proposals(w))
            item = QListWidgetItem()
            item.setSizeHint(widget.sizeHint())
            self.list.addItem(item)
            self.list.setItemWidget(item, widget)
            self.rows.append(widget)
        self.status.setText(
            f"{len(rows)} clusters of images no pack recognises, largest first. Name one to "
            "label it; the name is proposed for similar images to review."
            if rows else "No clusters yet: press “Find clusters again” (or tag more images).")
        self.loaded.emit(len(rows))

    def recluster(self) -> None:
        lib = self.lib
        self.recluster_button.setEnabled(False)
        self.status.setText("Finding clusters…")
        self.lanes.jobs.submit(QueuedJob(RECLUSTER, lambda cancel: clusters.recluster(lib, cancel)))

    def _job_finished(self, job: QueuedJob, _result: object) -> None:
        if job.title == RECLUSTER:
            self.recluster_button.setEnabled(True)
            self.refresh()

    def _name(self, row: ClusterRow) -> None:
        name = row.name_edit.text().strip()
        if not name:
            return
        chosen = row.selected_ids() or None
        cluster_id = row.cluster_id
        if self.stack is not None:
            self.stack.push(NameCommand(self, cluster_id, name, chosen))
            return
        self.lanes.writes.run(lambda: clusters.name_cluster(self.lib, cluster_id, name, chosen),
                              lambda result: self._named(cluster_id, name, result), self._failed)

    def row(self, cluster_id: int) -> ClusterRow | None:
        """The row shown for a cluster (rows are rebuilt on each refresh)."""
        return next((r for r in self.rows if r.cluster_id == cluster_id), None)

    def _named(self, cluster_id: int, name: str, result: clusters.Naming) -> None:
        row = self.row(cluster_id)
        if row is not None:
            row.title.setText(f"Cluster {cluster_id} — named {name} ({len(result.labelled)} "
                              f"labelled, {len(result.proposed)} proposed)")
            row.named_as = result.tag
            row.proposals_button.setVisible(bool(result.proposed))
        self.named.emit(cluster_id, name, len(result.labelled))
        self.labels_changed.emit(list(result.labelled))

    def _unnamed(self, cluster_id: int, image_ids: list[int]) -> None:
        row = self.row(cluster_id)
        if row is not None:
            row.title.setText(f"{row.title_text} (naming undone)")
            row.named_as = None
            row.proposals_button.setVisible(False)
        self.labels_changed.emit(image_ids)

    def _show_proposals(self, row: ClusterRow) -> None:
        if row.named_as is not None:
            self.query_requested.emit(f"propagation:{row.named_as.split(':', 1)[1]}")


RECLUSTER = "Find clusters of unknown characters"
