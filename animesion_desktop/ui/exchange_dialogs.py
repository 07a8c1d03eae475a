"""The Export and Import dialogs: the `animesion export` / `import` options as a form, a dry-run
preview, and the job on the window's job lane (see ui/job_dialog.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from animesion_desktop.core.exchange import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    ExportOptions,
    ExportSummary,
    ImportOptions,
    ImportSummary,
    export,
    import_labels,
)
from animesion_desktop.core.exchange.options import LINK_MODES
from animesion_desktop.core.library import Library
from animesion_desktop.ui.job_dialog import JobDialog, MakeJob
from animesion_desktop.ui.lanes import JobLane

SHOWN = 12  # planned files, left-out images, problems listed in a summary

EXPORT_HELP = {
    "ours": "training set: images + labels.csv, classes.csv, export.json (train/val/test split)",
    "dafre": "DAF:re / Animesion layout: faces/ and labels/*.csv",
    "kohya": "a caption .txt per image, for diffusion training tools",
    "xmp": "an .xmp sidecar per image (digiKam, exiftool)",
    "csv": "one row per image: path, hash, character, tags",
    "json": "one object per image: path, hash, character, tags",
}
IMPORT_HELP = {
    "folders": "a folder per character: the folder name is the character",
    "captions": "a caption .txt beside each image",
    "booru-json": "gallery-dl / Danbooru .json sidecars",
    "xmp": ".xmp sidecars (dc:subject, digiKam TagsList)",
    "csv": "a table with a path or hash column",
    "dafre": "the DAF:re layout (labels/*.csv)",
}


def path_row(line: QLineEdit, browse: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(line, 1)
    layout.addWidget(browse)
    return row


def _more(items: list[str], total: int) -> list[str]:
    return items + ([f"    … and {total - len(items)} more"] if total > len(items) else [])


def planned_lines(dest: Path, planned: list[Path]) -> list[str]:
    """What a dry run would write, by folder: a table is named, a folder of many images or
    sidecars is one line with its count (so the preview stays readable)."""
    groups: dict[tuple[Path, str], list[Path]] = {}
    for p in planned:
        groups.setdefault((p.parent, p.suffix.lower()), []).append(p)

    def shown(p: Path) -> str:
        return str(p.relative_to(dest)) if p.is_relative_to(dest) else str(p)

    out = []
    for (folder, suffix), paths in sorted(groups.items(), key=lambda kv: (len(kv[1]), str(kv[0]))):
        if len(paths) <= 3 or folder == dest:  # the export's own tables are named
            out += [f"    {shown(p)}" for p in paths]
        else:
            out.append(f"    {shown(folder)}/: {len(paths)} {suffix or 'extensionless'} files")
    return out


def export_lines(s: ExportSummary) -> list[str]:
    lines = list(s.lines())
    if s.dry_run and s.planned:
        lines.append(f"  would write (under {s.dest}):")
        planned = planned_lines(s.dest, s.planned)
        lines += _more(planned[:SHOWN], len(planned))
    if s.left_out:
        lines.append("  left out:")
        lines += _more([f"    {lo.what}: {lo.reason}" for lo in s.left_out[:SHOWN]], len(s.left_out))
    return lines


def import_lines(s: ImportSummary) -> list[str]:
    lines = list(s.lines())
    if s.not_in_library:
        lines.append("  not in the library (tick “Scan the source first” to add them):")
        lines += _more([f"    {p}" for p in s.not_in_library[:SHOWN]], len(s.not_in_library))
    if s.problems:
        lines.append("  skipped:")
        lines += _more([f"    {p.line()}" for p in s.problems[:SHOWN]], len(s.problems))
    return lines


class ExportDialog(JobDialog):
    def __init__(self, lib: Library, lane: JobLane, query: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(lane, "Export", "Export", preview=True, parent=parent)
        self._lib = lib
        self.format = QComboBox()
        for fmt in EXPORT_FORMATS:
            self.format.addItem(fmt, fmt)
            self.format.setItemData(self.format.count() - 1, EXPORT_HELP[fmt],
                                    Qt.ItemDataRole.ToolTipRole)
        self.dest = QLineEdit()
        self.dest.setPlaceholderText("an empty folder (csv/json: a folder or a file name)")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        self.query = QLineEdit(query)
        self.query.setPlaceholderText("every image")
        self.link = QComboBox()
        self.link.addItems(list(LINK_MODES))
        self.link.setToolTip("how images reach an ours, dafre or kohya export")
        self.min_per_class = QSpinBox()
        self.min_per_class.setRange(1, 10_000)
        self.min_per_class.setValue(3)
        self.min_per_class.setToolTip("ours/dafre: characters with fewer images are left out "
                                      "and listed in the summary")
        self.overwrite = QCheckBox("Overwrite files already there")
        self.form.addRow("Format", self.format)
        self.form.addRow("Destination", path_row(self.dest, browse))
        self.form.addRow("Images (search)", self.query)
        self.form.addRow("Images as", self.link)
        self.form.addRow("Min. images per character", self.min_per_class)
        self.form.addRow("", self.overwrite)
        self.format.currentIndexChanged.connect(self._format_changed)
        self._format_changed()
        self.resize(560, 440)

    def _format_changed(self) -> None:
        fmt = self.format.currentData()
        self.link.setEnabled(fmt in ("ours", "dafre", "kohya"))
        self.min_per_class.setEnabled(fmt in ("ours", "dafre"))
        self.status.setText(EXPORT_HELP[fmt])

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to")
        if folder:
            self.dest.setText(folder)

    def options(self, dry_run: bool) -> ExportOptions | None:
        dest = self.dest.text().strip()
        if not dest:
            self.fail("Choose a destination first")
            return None
        opts = ExportOptions(format=self.format.currentData(), dest=Path(dest).expanduser(),
                             query=self.query.text().strip(), link=self.link.currentText(),
                             min_per_class=self.min_per_class.value(),
                             overwrite=self.overwrite.isChecked(), dry_run=dry_run)
        try:
            opts.check()
        except ValueError as exc:
            self.fail(str(exc))
            return None
        return opts

    def make_job(self, dry_run: bool) -> tuple[str, MakeJob] | None:
        opts = self.options(dry_run)
        if opts is None:
            return None
        lib = self._lib

        def make(cancel: threading.Event):  # type: ignore[no-untyped-def]
            return export(lib, opts, cancel)

        verb = "Preview export" if dry_run else "Export"
        return f"{verb} {opts.format} to {opts.dest}", make

    def summary_lines(self, summary: Any) -> list[str]:
        return export_lines(summary)


class ImportDialog(JobDialog):
    def __init__(self, lib: Library, lane: JobLane, parent: QWidget | None = None) -> None:
        super().__init__(lane, "Import labels", "Import", preview=True, parent=parent)
        self._lib = lib
        self.format = QComboBox()
        for fmt in IMPORT_FORMATS:
            self.format.addItem(fmt, fmt)
        self.src = QLineEdit()
        self.src.setPlaceholderText("a folder (csv: or the .csv file)")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose)
        self.scan = QCheckBox("Scan the source first (adds its images not yet in the library)")
        self.form.addRow("Format", self.format)
        self.form.addRow("Source", path_row(self.src, browse))
        self.form.addRow("", self.scan)
        self.format.currentIndexChanged.connect(
            lambda: self.status.setText(IMPORT_HELP[self.format.currentData()]))
        self.status.setText(IMPORT_HELP[self.format.currentData()] +
                            ". Your own decisions are never changed.")
        self.resize(560, 400)

    def _choose(self) -> None:
        if self.format.currentData() == "csv":
            path, _ = QFileDialog.getOpenFileName(self, "Import from", "", "CSV (*.csv)")
        else:
            path = QFileDialog.getExistingDirectory(self, "Import from")
        if path:
            self.src.setText(path)

    def make_job(self, dry_run: bool) -> tuple[str, MakeJob] | None:
        src = self.src.text().strip()
        if not src:
            self.fail("Choose a source first")
            return None
        opts = ImportOptions(format=self.format.currentData(), src=Path(src).expanduser(),
                             dry_run=dry_run, scan=self.scan.isChecked() and not dry_run)
        lib = self._lib

        def make(cancel: threading.Event):  # type: ignore[no-untyped-def]
            return import_labels(lib, opts, cancel)

        verb = "Preview import" if dry_run else "Import"
        return f"{verb} {opts.format} from {opts.src}", make

    def summary_lines(self, summary: Any) -> list[str]:
        return import_lines(summary)
