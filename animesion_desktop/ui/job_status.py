"""Status-bar widget for the job lane: the running job, a progress bar, Cancel, and the queue."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from animesion_desktop.core.jobs import Progress
from animesion_desktop.ui.lanes import JobLane


class JobStatus(QWidget):
    def __init__(self, lane: JobLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lane = lane
        self._label = QLabel()
        self._bar = QProgressBar()
        self._bar.setMaximumWidth(220)
        self._cancel = QPushButton("Cancel")
        self._cancel.setToolTip("Stop the running job; queued jobs still run")
        self._cancel.clicked.connect(lane.cancel)
        self.queue_label = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self._label, self._bar, self._cancel, self.queue_label):
            layout.addWidget(w)
        lane.progress.connect(self.show_progress)
        lane.queue_changed.connect(self._queue_changed)
        self._started = time.monotonic()
        self._running: object = None
        self._queue_changed()

    def _queue_changed(self) -> None:
        running = self._lane.running
        busy = running is not None
        if running is not self._running:
            self._running = running
            self._started = time.monotonic()
            self._label.setText(running.title if running is not None else "")
        self._bar.setVisible(busy)
        self._cancel.setVisible(busy)
        queued = self._lane.queued
        self.queue_label.setText(f"then: {', '.join(j.title for j in queued)}" if queued else "")
        self.queue_label.setToolTip("\n".join(j.title for j in queued))

    def show_progress(self, p: Progress) -> None:
        if p.total:
            self._bar.setRange(0, p.total)
            self._bar.setValue(p.done)
        else:
            self._bar.setRange(0, 0)  # busy indicator while the total is unknown
        rate = p.done / max(time.monotonic() - self._started, 1e-6)
        self._label.setText(f"{p.stage}: {p.done}{'/' + str(p.total) if p.total else ''}"
                            f" · {rate:.1f}/s {p.message[-50:]}")
