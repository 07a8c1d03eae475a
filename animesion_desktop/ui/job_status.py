"""Status-bar widget for the running job: stage, a progress bar, a rate and Cancel."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from animesion_desktop.core.jobs import Progress
from animesion_desktop.ui.workers import JobRunner


class JobStatus(QWidget):
    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._label = QLabel()
        self._bar = QProgressBar()
        self._bar.setMaximumWidth(220)
        self._cancel = QPushButton("Cancel")
        self._cancel.clicked.connect(runner.cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self._label, self._bar, self._cancel):
            layout.addWidget(w)
        runner.progress.connect(self.show_progress)
        runner.busy_changed.connect(self._busy)
        self._started = time.monotonic()
        self._busy(False)

    def _busy(self, busy: bool) -> None:
        self._started = time.monotonic()
        self._bar.setVisible(busy)
        self._cancel.setVisible(busy)
        if not busy:
            self._label.clear()

    def show_progress(self, p: Progress) -> None:
        if p.total:
            self._bar.setRange(0, p.total)
            self._bar.setValue(p.done)
        else:
            self._bar.setRange(0, 0)  # busy indicator while the total is unknown
        rate = p.done / max(time.monotonic() - self._started, 1e-6)
        self._label.setText(f"{p.stage}: {p.done}{'/' + str(p.total) if p.total else ''}"
                            f" · {rate:.1f}/s {p.message[-50:]}")
