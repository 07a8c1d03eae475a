"""“Train a model from my labels”: `animesion retrain` as a dialog — a time budget, which pack
to fine-tune, whether to activate the new pack and re-tag with it — and the new pack's figures
beside the old one's when it is done. Stop kills the training process; the library is then
exactly as it was (core.exchange.retrain)."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QWidget

from animesion_desktop.core.exchange import RetrainOptions, RetrainResult, figure_lines
from animesion_desktop.core.exchange import retrain as retrain_job
from animesion_desktop.core.library import Library
from animesion_desktop.ui.job_dialog import JobDialog, MakeJob
from animesion_desktop.ui.lanes import JobLane, ReadLane

AUTO = "automatic: an active pack sharing your characters, else the default recipe"


def _pack_names(lib: Library) -> list[str]:
    from animesion_desktop.core.tagging import packs_registry as registry

    return [p.name for p in registry.list_packs(lib)]


def result_lines(result: RetrainResult) -> list[str]:
    if result.cancelled:
        return ["Training stopped: the library is as it was."]
    lines = list(result.export.lines()) if result.export is not None else []
    ts = result.train_summary
    if ts:
        lines.append(f"trained {ts.get('epochs_run')} epochs / {ts.get('steps')} steps in "
                     f"{(ts.get('elapsed_seconds') or 0) / 60:.1f} min ({ts.get('stopped_by')})"
                     + (f", fine-tuned from {result.base}" if result.base else ""))
    lines += figure_lines(result)
    lines.append(f"pack {result.name}: " + ("active" if result.activated else
                 "installed, inactive (activate it in Models ▸ Packs and thresholds)"))
    return lines


class TrainDialog(JobDialog):
    tag_requested = Signal(str)  # re-tag the library with this new pack

    def __init__(self, lib: Library, lane: JobLane, reads: ReadLane,
                 parent: QWidget | None = None) -> None:
        super().__init__(lane, "Train a model from my labels", "Train", preview=False,
                         parent=parent)
        self._lib = lib
        self.options_base = RetrainOptions()  # tests and power users: train_args, work, name
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.5, 24 * 60)
        self.minutes.setDecimals(1)
        self.minutes.setValue(10.0)
        self.minutes.setSuffix(" min")
        self.from_pack = QComboBox()
        self.from_pack.addItem(AUTO, None)
        self.activate = QCheckBox("Activate the new pack (and deactivate the one it replaces)")
        self.activate.setChecked(True)
        self.retag = QCheckBox("Re-tag the library with it when done")
        self.retag.setChecked(True)
        self.form.addRow("Time budget", self.minutes)
        self.form.addRow("Start from", self.from_pack)
        self.form.addRow("", self.activate)
        self.form.addRow("", self.retag)
        self.status.setText("Trains on your accepted character labels, in a separate process, "
                            "then installs the result as a new pack.")
        self.job_done.connect(self._after)
        reads.run("train-packs", lambda: _pack_names(lib), self._set_packs)
        self.resize(600, 420)

    def _set_packs(self, names: list[str]) -> None:
        for name in names:
            self.from_pack.addItem(name, name)

    def options(self) -> RetrainOptions:
        base = self.options_base
        return RetrainOptions(minutes=self.minutes.value(), from_pack=self.from_pack.currentData(),
                              name=base.name, work=base.work, query=base.query,
                              min_per_class=base.min_per_class,
                              activate=self.activate.isChecked(), train_args=base.train_args,
                              python=base.python)

    def make_job(self, dry_run: bool) -> tuple[str, MakeJob] | None:
        opts, lib = self.options(), self._lib

        def make(cancel: threading.Event):  # type: ignore[no-untyped-def]
            return retrain_job(lib, opts, cancel)

        return f"Train a model ({opts.minutes:g} min)", make

    def summary_lines(self, summary: Any) -> list[str]:
        lines = result_lines(summary)
        if self._retags(summary):
            lines.append(f"re-tagging the library with {summary.name} (see the status bar)")
        return lines

    def _retags(self, result: RetrainResult) -> bool:
        return not result.cancelled and bool(result.name) and self.retag.isChecked()

    def _after(self, result: RetrainResult) -> None:
        if self._retags(result):
            assert result.name is not None
            self.tag_requested.emit(result.name)
