"""DAF:re's tag vocabulary (``vocab.pkl``) read without running any of its code, or its CSV export.

The original file is ``pickle.dump`` of a small ``Vocabulary`` object whose state is plain
data (``word2idx`` str -> int, ``idx2word`` int -> str, ``idx``). The unpickler below never
imports anything: the ``Vocabulary`` global is answered with an inert stand-in that only keeps
its state dict, and every other global (``os.system``, ``builtins.eval``, ...) is refused with
a message naming it. The CSV export has the header ``id,token`` and one row per token.
"""

from __future__ import annotations

import csv
import io
import pickle
from pathlib import Path
from typing import Any

from models.errors import PackError

MAX_VOCAB_BYTES = 64 * 1024 * 1024


class _VocabularyState:
    """What a pickled ``Vocabulary`` becomes here: its state dict and nothing callable."""

    def __init__(self) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _reconstruct(cls: Any, base: Any, state: Any) -> _VocabularyState:
    # protocol 0/1 spelling of "make an empty instance": copyreg._reconstructor(cls, object, None)
    if cls is not _VocabularyState or base is not object or state is not None:
        raise pickle.UnpicklingError("copyreg._reconstructor with other than Vocabulary")
    return _VocabularyState()


class VocabUnpickler(pickle.Unpickler):
    """Rebuilds only plain data; ``find_class`` refuses every global but the vocabulary's."""

    def __init__(self, data: bytes, where: str) -> None:
        super().__init__(io.BytesIO(data))
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        if name == "Vocabulary":
            return _VocabularyState  # never imported: the module part is not looked at
        if (module, name) == ("copyreg", "_reconstructor"):
            return _reconstruct
        if (module, name) in (("builtins", "object"), ("__builtin__", "object")):
            return object
        raise pickle.UnpicklingError(
            f"{self.where}: refused global {module}.{name} (only a vocabulary's plain "
            "dict/list/str/int data is read)"
        )


def read_vocab_pickle(path: Path) -> dict[str, int]:
    """word2idx of a DAF:re ``vocab.pkl`` (or a pickled plain dict of the same shape)."""
    where = path.name
    data = path.read_bytes()
    if len(data) > MAX_VOCAB_BYTES:
        raise PackError(f"{where}: {len(data)} bytes is too large for a vocabulary")
    try:
        obj = VocabUnpickler(data, where).load()
    except pickle.UnpicklingError as exc:
        message = str(exc)
        raise PackError(message if message.startswith(where) else f"{where}: {message}") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise PackError(f"{where}: not a readable vocabulary pickle ({exc})") from None
    state = obj.state if isinstance(obj, _VocabularyState) else obj
    word2idx = state.get("word2idx") if isinstance(state, dict) else None
    if not isinstance(word2idx, dict):
        raise PackError(f"{where}: expected a Vocabulary with a word2idx mapping")
    return _checked(word2idx, where)


def read_vocab_csv(path: Path) -> dict[str, int]:
    """word2idx from ``id,token`` rows (any order, ids unique)."""
    where = path.name
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0]] != ["id", "token"]:
        raise PackError(f"{where}: line 1: expected the header id,token")
    word2idx: dict[Any, Any] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise PackError(f"{where}: line {line}: expected 2 fields, got {len(row)}")
        try:
            i = int(row[0])
        except ValueError:
            raise PackError(f"{where}: line {line}: id {row[0]!r} is not an integer") from None
        if row[1] in word2idx:
            raise PackError(f"{where}: line {line}: token {row[1]!r} appears twice")
        word2idx[row[1]] = i
    return _checked(word2idx, where)


def read_vocab(path: Path) -> dict[str, int]:
    if path.suffix.lower() == ".csv":
        return read_vocab_csv(path)
    return read_vocab_pickle(path)


def _checked(word2idx: dict[Any, Any], where: str) -> dict[str, int]:
    seen: set[int] = set()
    for token, i in word2idx.items():
        if not isinstance(token, str) or not token:
            raise PackError(f"{where}: token {token!r} is not a non-empty string")
        if isinstance(i, bool) or not isinstance(i, int) or i < 0:
            raise PackError(f"{where}: token {token!r}: id {i!r} is not a non-negative integer")
        if i in seen:
            raise PackError(f"{where}: token {token!r}: id {i} is used twice")
        seen.add(i)
    if not word2idx:
        raise PackError(f"{where}: the vocabulary is empty")
    return dict(word2idx)
