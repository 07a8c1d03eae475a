"""The Clusters view: groups of images no pack recognises, each a row of thumbnails, largest
first; type a name and press Name to label a cluster (or the thumbnails selected in it).

Reads (clusters, thumbnails) go on the read lane, naming on the write lane; the widget never
touches the library on the GUI thread. Standalone: the window can dock it or open it as a tab.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
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
from animesion_desktop.ui.lanes import Lanes

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
        head.addWidget(self.title, 1)
        head.addWidget(self.name_edit)
        head.addWidget(self.name_button)
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


class ClustersView(QWidget):
    """Clusters of the pack's unknown images; emits ``named(cluster id, name, labelled)``."""

    named = Signal(int, str, int)
    loaded = Signal(int)

    def __init__(self, lib: Library, lanes: Lanes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lib, self.lanes = lib, lanes
        self.setWindowTitle("Clusters")
        layout = QVBoxLayout(self)
        self.status = QLabel("Loading clusters…")
        layout.addWidget(self.status)
        self.list = QListWidget()
        layout.addWidget(self.list, 1)
        self.rows: list[ClusterRow] = []
        self.refresh()

    def refresh(self) -> None:
        self.lanes.reads.run("clusters", lambda: _cluster_rows(self.lib), self._show,
                             self._failed)

    def _failed(self, message: str) -> None:
        self.status.setText(f"Could not read the clusters: {message}")

    def _show(self, rows: list[dict[str, Any]]) -> None:
        self.list.clear()
        self.rows = []
        for row in rows:
            widget = ClusterRow(row)
            widget.name_button.clicked.connect(lambda _=False, w=widget: self._name(w))
            widget.name_edit.returnPressed.connect(lambda w=widget: self._name(w))
            item = QListWidgetItem()
            item.setSizeHint(widget.sizeHint())
            self.list.addItem(item)
            self.list.setItemWidget(item, widget)
            self.rows.append(widget)
        self.status.setText(
            f"{len(rows)} clusters of images no pack recognises, largest first. Name one to "
            "label it; the name is proposed for similar images to review."
            if rows else "No clusters (run `animesion clusters` or tag more images).")
        self.loaded.emit(len(rows))

    def _name(self, row: ClusterRow) -> None:
        name = row.name_edit.text().strip()
        if not name:
            return
        chosen = row.selected_ids() or None
        cluster_id = row.cluster_id

        def done(result: clusters.Naming) -> None:
            row.title.setText(f"Cluster {cluster_id} — named {name} "
                              f"({len(result.labelled)} labelled, {len(result.proposed)} proposed)")
            self.named.emit(cluster_id, name, len(result.labelled))

        self.lanes.writes.run(lambda: clusters.name_cluster(self.lib, cluster_id, name, chosen),
                              done, self._failed)
