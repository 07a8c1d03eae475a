"""The query box: booru-style search with tag autocomplete fetched off the GUI thread."""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

# The tag being typed is the last token, minus any leading "-" or "(".
_LAST_TOKEN = re.compile(r"[-(]*([^\s()|]*)$")


def current_token(text: str) -> tuple[int, str]:
    """(start, token) of the tag being typed at the end of ``text``."""
    match = _LAST_TOKEN.search(text)
    assert match is not None
    return match.start(1), match.group(1)


class SearchBar(QLineEdit):
    submitted = Signal(str)
    completions_wanted = Signal(str)  # the partial tag; answer with set_completions

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(
            "Search: blue_hair character:hatsune_miku -glasses hat* width>=1920 is:unreviewed"
        )
        self.setClearButtonEnabled(True)
        self._model = QStringListModel(self)
        self._completer = QCompleter(self._model, self)
        self._completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self._completer.setWidget(self)
        self._completer.activated.connect(self._insert_completion)
        self.textEdited.connect(self._on_edited)
        self.returnPressed.connect(lambda: self.submitted.emit(self.text().strip()))

    def _on_edited(self, text: str) -> None:
        _, token = current_token(text)
        if len(token.split(":")[-1]) >= 2:
            self.completions_wanted.emit(token)
        else:
            popup = self._completer.popup()
            assert popup is not None  # QCompleter makes its default popup on first use
            popup.hide()

    def set_completions(self, token: str, items: list[str]) -> None:
        if current_token(self.text())[1] != token:
            return  # the user typed on; this answer is stale
        self._model.setStringList(items)
        self._completer.setCompletionPrefix(token.split(":")[-1])
        if items:
            self._completer.complete()

    def _insert_completion(self, completion: str) -> None:
        start, _ = current_token(self.text())
        self.setText(self.text()[:start] + completion + " ")

    def show_error(self, message: str | None) -> None:
        self.setToolTip(message or "")
        self.setStyleSheet("QLineEdit { border: 1px solid #d9534f; }" if message else "")


def completion_texts(rows: list[tuple[str, str, int]], fmt: Callable[[str, str], str]) -> list[str]:
    return [fmt(category, name) for category, name, _count in rows]
