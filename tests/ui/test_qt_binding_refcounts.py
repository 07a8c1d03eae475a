"""The Qt binding must not leak references to None: PySide6 6.12.0 dropped one on every call
that returns nothing, and CPython 3.11 aborts the process once None's count reaches zero
(a long session, or a long test run, died in processEvents)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QScrollBar


def test_calls_that_return_nothing_keep_none_alive(qapp: QApplication) -> None:
    bar = QScrollBar()
    bar.setRange(0, 50)
    before = sys.getrefcount(None)
    for i in range(2000):
        bar.setValue(i % 50)
        qapp.processEvents()
    # Other code may take references meanwhile; a leaking binding loses about 4,000.
    assert sys.getrefcount(None) >= before - 100
