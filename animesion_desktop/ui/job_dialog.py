"""A dialog that runs one core job on the window's job lane: its form, a progress bar, a Stop
button, and the job's summary in the dialog when it ends.

The job runs on the job lane like Add folder and scans do (queued behind them, shown in the
status bar); the dialog only listens for its own job's progress and outcome.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core.jobs import Job, Progress
from animesion_desktop.ui.lanes import JobLane, QueuedJob

MakeJob = Callable[[threading.Event], Job[Any]]


@dataclass
class DialogJob(QueuedJob):
    """A job whose outcome its dialog shows, so a failure needs no second message box."""

    shown_in_dialog: bool = True


class JobDialog(QDialog):
    job_done = Signal(object)  # the job's summary (also for a dry run)

    def __init__(self, lane: JobLane, title: str, run_text: str, preview: bool,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._lane = lane
        self._job: DialogJob | None = None
        self._dry_run = False
        self.form = QFormLayout()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.summary = QPlainTextEdit()
        self.summary.setReadOnly(True)
        self.summary.setPlaceholderText("The summary shows here when the job ends.")
        self.summary.setMinimumHeight(130)
        self.preview_button = QPushButton("Preview (dry run)")
        self.preview_button.setVisible(preview)
        self.preview_button.clicked.connect(lambda: self.start(dry_run=True))
        self.run_button = QPushButton(run_text)
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(lambda: self.start(dry_run=False))
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the job at its next safe point")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addStretch(1)
        for b in (self.stop_button, self.close_button, self.run_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.summary, 1)
        layout.addLayout(buttons)
        lane.progress.connect(self._on_progress)
        lane.finished.connect(self._on_finished)
        lane.failed.connect(self._on_failed)

    # -- for subclasses ---------------------------------------------------------------------
    def make_job(self, dry_run: bool) -> tuple[str, MakeJob] | None:
        """(title, job factory) from the form, or None after showing what is wrong."""
        raise NotImplementedError

    def summary_lines(self, summary: Any) -> list[str]:
        raise NotImplementedError

    # -- running ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._job is not None

    def start(self, dry_run: bool = False) -> None:
        if self._job is not None:
            return
        made = self.make_job(dry_run)
        if made is None:
            return
        title, make = made
        self._dry_run = dry_run
        self._job = DialogJob(title, make)
        self.summary.clear()
        self.status.setText("waiting for the job before it" if self._lane.busy else "starting…")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self._set_running(True)
        self._lane.submit(self._job)

    def stop(self) -> None:
        if self._job is not None:
            self._job.cancel.set()  # a queued job then ends at its first check
            self.status.setText("stopping…")

    def fail(self, message: str) -> None:
        self.status.setText(message)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.preview_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    def _on_progress(self, p: Progress) -> None:
        if self._job is None or self._lane.running is not self._job:
            return
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
        else:
            self.progress.setRange(0, 0)
        count = f"{p.done}/{p.total}" if p.total else (str(p.done) if p.done else "")
        self.status.setText(" ".join(s for s in (f"{p.stage}:", count, p.message[-80:]) if s))

    def _ended(self, job: QueuedJob) -> bool:
        if job is not self._job:
            return False
        self._job = None
        self._set_running(False)
        self.progress.setVisible(False)
        return True

    def _on_finished(self, job: QueuedJob, summary: object) -> None:
        if not self._ended(job):
            return
        lines = self.summary_lines(summary)
        self.summary.setPlainText("\n".join(lines))
        self.status.setText("preview: nothing was written" if self._dry_run else "done")
        self.job_done.emit(summary)

    def _on_failed(self, job: QueuedJob, message: str) -> None:
        if self._ended(job):
            self.status.setText("failed: nothing more was done")
            self.summary.setPlainText(message)
