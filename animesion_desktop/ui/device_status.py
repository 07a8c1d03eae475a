"""The status bar's device and precision: what the tag jobs run on, and at which precision.

Before any tag job it shows what the settings and the machine imply ("CPU · auto · demo": the
device the settings pick, their precision, the active packs). After each job that ran a pack it
shows what ran, pack by pack, as the predictor reported it (``PackRun.status``, from
``models.precision.predictor_status``): "CPU · int8 · demo", "CUDA · RTX 4090 · fp32 · wd".
The tooltip adds each pack's device description and what ``auto`` measured against fp32.
Finding the device imports torch and may probe a GPU: a child process does it
(``models.device_probe``), asked from the read lane, so neither the GUI thread nor the
interpreter lock waits for it; reading the active packs runs on the read lane too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QLabel

if TYPE_CHECKING:
    from animesion_desktop.ui.main_window import MainWindow


def pack_runs(summary: object) -> list[Any]:
    """The PackRuns of a finished job's summary that say what ran (tag, one-pass add)."""
    runs = getattr(summary, "runs", None)
    if runs is None:
        runs = getattr(getattr(summary, "tags", None), "runs", None)
    return [r for r in runs or () if getattr(r, "status", None)]


def _grouped(statuses: Iterable[tuple[str, str]]) -> str:
    """'CPU · int8 · a, b' when every pack ran alike, else 'a: CPU · int8; b: CPU · fp32'."""
    by_status: dict[str, list[str]] = {}
    for pack, status in statuses:
        by_status.setdefault(status, []).append(pack)
    if len(by_status) == 1:
        ((status, packs),) = by_status.items()
        return f"{status} · {', '.join(packs)}"
    return "; ".join(f"{', '.join(packs)}: {status}" for status, packs in by_status.items())


class DeviceStatus(QLabel):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self._window = window
        self.implied = ""  # "CPU · auto": what the settings imply
        self.active: list[str] = []
        self.ran: dict[str, Any] = {}  # pack -> its PackRun in the last job that ran it
        window.lanes.jobs.finished.connect(self._job_finished)
        window.prefs.changed.connect(self._settings_changed)
        self.refresh()

    def refresh(self) -> None:
        """Read the implied device and the active packs again (on the read lane)."""
        from animesion_desktop.core.tagging.packs_registry import list_packs

        settings = self._window.prefs.settings
        device, precision = settings.device, settings.precision
        lib = self._window.lib

        def read() -> tuple[tuple[str, str | None], list[str]]:
            from models.device_probe import implied_device  # a child process imports torch

            return implied_device(device), [p.name for p in list_packs(lib) if p.active]

        def show(answer: tuple[tuple[str, str | None], list[str]]) -> None:
            from models.precision import status_text

            (kind, name), self.active = answer
            self.implied = status_text(kind, precision, name)
            self._show()

        self._window.lanes.reads.run("device-status", read, show,
                                     lambda message: self.setToolTip(message))

    def _settings_changed(self) -> None:
        self.ran.clear()  # the next job runs with the new choice: show what it implies
        self.refresh()

    def _job_finished(self, _job: object, summary: object) -> None:
        runs = pack_runs(summary)
        if runs:
            self.ran.update({r.pack: r for r in runs})
            self.refresh()

    def _show(self) -> None:
        from models.precision import LABELS, describe_agreement

        ran = self.ran  # a pack tagged by name need not be active: it is still what ran
        if ran:
            self.setText(_grouped((p, r.status) for p, r in ran.items()))
            tips = []
            for pack, run in ran.items():
                tip = f"{pack}: {run.device}"
                if run.agreement:
                    tip += f"\n  {describe_agreement(run.agreement)}"
                elif run.precision == "checking":
                    tip += "\n  auto: too few images to decide yet, answered in fp32"
                elif run.precision:
                    tip += f"\n  {LABELS.get(run.precision, run.precision)}"
                tips.append(tip)
            self.setToolTip("\n".join(tips))
            return
        packs = ", ".join(self.active) if self.active else "no active pack"
        self.setText(f"{self.implied} · {packs}")
        self.setToolTip("What the next tag job would run on (Settings: device and precision); "
                        "after a job, what it ran")


def install_device_status(window: MainWindow) -> DeviceStatus:
    label = DeviceStatus(window)
    window.statusBar().addPermanentWidget(label)
    return label
