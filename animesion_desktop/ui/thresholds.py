"""Thresholds of one pack: a slider per category and per tag, with what each setting yields.

Dragging a slider only counts (on a worker; stale counts are dropped); letting go applies the
value through the ordered write lane as one undo step. Thresholds apply when the library is
read (``core.thresholds``): nothing is rerun. A tag's precision/recall curve is measured
against the decisions made on it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPointF,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF, QUndoStack
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from animesion_desktop.core import thresholds as th
from animesion_desktop.core.library import Library
from animesion_desktop.ui.review.writes import OrderedWrites, WriteCommand, WriteLane
from animesion_desktop.ui.tables import RowTable, row_table_view
from animesion_desktop.ui.workers import TaskRunner


class ThresholdTableModel(RowTable[th.ThresholdRow]):
    HEADERS = ("Tag", "Category", "Threshold", "Images ≥")

    def cell(self, row: th.ThresholdRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.name, row.category, f"{row.threshold:.2f}", f"{row.images:,}")[column]
        if role == Qt.ItemDataRole.UserRole:
            return row.text
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class CurveWidget(QWidget):
    """Precision (teal) and recall (orange) against the threshold, the current one marked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(120)
        self.points: list[th.CurvePoint] = []
        self.decisions = 0
        self.threshold = 0.5

    def show_curve(self, decisions: int, points: list[th.CurvePoint], threshold: float) -> None:
        self.decisions, self.points, self.threshold = decisions, points, threshold
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.rect().adjusted(30, 24, -8, -20)  # room above for the legend
        p.setPen(QPen(QColor("#888888")))
        p.drawRect(r)
        p.drawText(self.rect().adjusted(30, 0, 0, 0), Qt.AlignmentFlag.AlignBottom
                   | Qt.AlignmentFlag.AlignLeft, "0")
        p.drawText(self.rect().adjusted(0, 0, -8, 0), Qt.AlignmentFlag.AlignBottom
                   | Qt.AlignmentFlag.AlignRight, "threshold 1")
        if not self.points:
            p.drawText(r, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       "No decisions on this tag yet: accept or reject it on a few images\n"
                       "to see its precision and recall here.")
            p.end()
            return

        def at(t: float, v: float) -> QPointF:
            return QPointF(r.left() + t * r.width(), r.bottom() - v * r.height())

        for colour, value in (("#2a9d8f", lambda c: c.precision), ("#e76f51", lambda c: c.recall)):
            p.setPen(QPen(QColor(colour), 2))
            p.drawPolyline(QPolygonF([at(c.threshold, value(c)) for c in self.points]))
        p.setPen(QPen(QColor("#cccccc"), 1, Qt.PenStyle.DashLine))
        x = r.left() + self.threshold * r.width()
        p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        x = r.left()
        for colour, word in (("#2a9d8f", "precision"), ("#888888", " and "),
                             ("#e76f51", "recall"),
                             ("#888888", f" against your {self.decisions} decisions on this tag")):
            p.setPen(QPen(QColor(colour)))
            p.drawText(int(x), r.top() - 8, word)
            x += p.fontMetrics().horizontalAdvance(word)
        p.end()


class ThresholdSlider(QWidget):
    """A slider and a spin box for one target (a tag or ``category:C``) and its yield."""

    moved = Signal(str, float)  # target, value being considered
    chosen = Signal(str, float)  # target, value to apply

    def __init__(self, target: str, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.target = target
        self.title = QLabel(title)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.0, 1.0)
        self.spin.setSingleStep(0.01)
        self.spin.setDecimals(2)
        self.yield_label = QLabel("")
        self.yield_label.setMinimumWidth(150)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.title)
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        row.addWidget(self.yield_label)
        self.slider.valueChanged.connect(self._slid)
        self.slider.sliderReleased.connect(lambda: self.chosen.emit(self.target, self.value()))
        self.spin.editingFinished.connect(lambda: self.chosen.emit(self.target, self.value()))
        self.spin.valueChanged.connect(self._spun)

    def value(self) -> float:
        return round(self.spin.value(), 2)

    def set_value(self, value: float) -> None:
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.slider.setValue(round(value * 100))
        self.spin.setValue(value)
        for w in (self.slider, self.spin):
            w.blockSignals(False)

    def _slid(self, v: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(v / 100)
        self.spin.blockSignals(False)
        self.moved.emit(self.target, v / 100)
        if not self.slider.isSliderDown():  # keyboard or click on the groove: apply now
            self.chosen.emit(self.target, v / 100)

    def _spun(self, v: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round(v * 100))
        self.slider.blockSignals(False)
        self.moved.emit(self.target, v)


class ThresholdsPanel(QWidget):
    changed = Signal(str)  # a threshold was applied or undone: what happened
    failed = Signal(str)
    counted = Signal(str, float, int)  # target, value, predictions at or above it

    def __init__(self, lib: Library, lane: WriteLane | None = None,
                 undo_stack: QUndoStack | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lib = lib
        self.lane: WriteLane = lane or OrderedWrites(self)
        self.undo_stack = undo_stack or QUndoStack(self)
        self._reads = TaskRunner(parent=self)
        self.pack: str | None = None
        self._token = 0
        self._count_token: dict[str, int] = {}
        self.categories: dict[str, ThresholdSlider] = {}
        self._pending: tuple[str, float] | None = None
        self._shown: dict[str, float] = {}  # target -> value as loaded (no-op applies skipped)
        self._debounce = QTimer(self, singleShot=True, interval=60)
        self._debounce.timeout.connect(self._count_now)

        self.category_box = QGroupBox("Per category")
        self.category_grid = QGridLayout(self.category_box)
        self.model = ThresholdTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a tag")
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = row_table_view(self.proxy)
        self.table.selectionModel().currentRowChanged.connect(self._tag_selected)
        self.tag_slider = ThresholdSlider("", "Tag")
        self.tag_slider.setEnabled(False)
        self._connect(self.tag_slider)
        self.curve = CurveWidget()
        tag_box = QGroupBox("Per tag")
        col = QVBoxLayout(tag_box)
        col.addWidget(self.search)
        col.addWidget(self.table, 1)
        col.addWidget(self.tag_slider)
        col.addWidget(self.curve)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.category_box)
        layout.addWidget(tag_box, 1)

    def _connect(self, slider: ThresholdSlider) -> None:
        slider.moved.connect(self._moved)
        slider.chosen.connect(self.apply)

    # -- loading ------------------------------------------------------------------------------
    def show_pack(self, pack: str | None) -> None:
        self.pack = pack
        self._token += 1
        token, lib = self._token, self.lib
        if pack is None:
            self.model.set_rows([])
            self._shown.clear()
            self._build_categories({})
            return

        def read() -> tuple[dict[str, tuple[int, float, float]], list[th.ThresholdRow]]:
            return th.category_counts(lib, pack), th.threshold_rows(lib, pack)

        def done(result: tuple[dict[str, tuple[int, float, float]],
                               list[th.ThresholdRow]]) -> None:
            if token != self._token:
                return
            cats, rows = result
            self._shown.clear()
            self._build_categories(cats)
            current = self.tag_slider.target
            self.model.set_rows(rows)
            self._reselect(current)
            for target, slider in self.categories.items():
                self._moved(target, slider.value())
                self._count_now()

        self._reads.run(read, done, self.failed.emit)

    def _build_categories(self, cats: dict[str, tuple[int, float, float]]) -> None:
        targets = [f"category:{c}" for c in cats]
        if targets != list(self.categories):  # another pack: new sliders; else reuse them
            for slider in self.categories.values():
                slider.deleteLater()
            self.categories.clear()
            for n, target in enumerate(targets):
                slider = ThresholdSlider(target, "")
                slider.title.setMinimumWidth(190)
                self._connect(slider)
                self.categories[target] = slider
                self.category_grid.addWidget(slider, n, 0)
        for category, (tags, lo, hi) in cats.items():
            slider = self.categories[f"category:{category}"]
            mixed = "" if abs(hi - lo) < 1e-9 else f"  (now {lo:.2f}–{hi:.2f})"
            slider.title.setText(f"{category} · {tags:,} tag{'s' if tags != 1 else ''}{mixed}")
            slider.set_value(lo)
            if not mixed:
                self._shown[slider.target] = lo

    def _reselect(self, target: str) -> None:
        for r, row in enumerate(self.model.rows):
            if row.text == target:
                index = self.proxy.mapFromSource(self.model.index(r, 0))
                self.table.setCurrentIndex(index)
                self._tag_selected(index)
                return

    def _tag_selected(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        if not source.isValid():
            self.tag_slider.setEnabled(False)
            return
        row = self.model.rows[source.row()]
        self.tag_slider.setEnabled(True)
        self.tag_slider.target = row.text
        self.tag_slider.title.setText(row.text)
        self.tag_slider.set_value(row.threshold)
        self._shown[row.text] = row.threshold
        self._moved(row.text, row.threshold)
        self._count_now()
        pack, lib, token = self.pack, self.lib, self._token
        if pack is None:
            return

        def shown(result: tuple[int, list[th.CurvePoint]]) -> None:
            if token == self._token and self.tag_slider.target == row.text:
                self.curve.show_curve(result[0], result[1], self.tag_slider.value())

        self._reads.run(lambda: th.pr_curve(lib, pack, row.text), shown, self.failed.emit)

    # -- counting and applying ----------------------------------------------------------------
    def _moved(self, target: str, value: float) -> None:
        if target == self.tag_slider.target:
            self.curve.threshold = value
            self.curve.update()
        self._pending = (target, value)
        self._debounce.start()

    def _count_now(self) -> None:
        if self._pending is None or self.pack is None:
            return
        target, value = self._pending
        self._pending = None
        n = self._count_token[target] = self._count_token.get(target, 0) + 1
        lib, pack = self.lib, self.pack

        def done(counts: list[int]) -> None:
            if self._count_token.get(target) != n:
                return
            slider = self.categories.get(target) or (
                self.tag_slider if self.tag_slider.target == target else None)
            if slider is not None:
                slider.yield_label.setText(f"{counts[0]:,} prediction{'s' if counts[0] != 1 else ''}"
                                           f" ≥ {value:.2f}")
            self.counted.emit(target, value, counts[0])

        self._reads.run(lambda: th.yields(lib, pack, target, [value]), done, self.failed.emit)

    def apply(self, target: str, value: float) -> None:
        """Set ``target``'s threshold to ``value``: one undo step, through the write lane."""
        if self.pack is None or not target or self._shown.get(target) == round(value, 2):
            return
        self._shown.pop(target, None)
        lib, pack = self.lib, self.pack
        text = f"{pack}: {target} threshold {value:.2f}"

        def done(_result: object) -> None:
            self.show_pack(pack)
            self.changed.emit(text)

        self.undo_stack.push(WriteCommand(
            self.lane, text, lambda: th.set_thresholds(lib, pack, target, value),
            lambda change: th.restore_thresholds(lib, change), done, self.failed.emit))
