"""The single writer: every write to the library runs on one thread, in order.

A GUI, a scan and a tagging job may all want to write at once; funnelling their transactions
through one thread means SQLite never answers "database is locked" and writes never interleave.
Callers either wait for the result (:meth:`Writer.call`) or get a future (:meth:`Writer.submit`).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
_STOP = object()


class Writer:
    def __init__(self, sessions: sessionmaker[Session], name: str = "library-writer") -> None:
        self._sessions = sessions
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, fn: Callable[[Session], T]) -> Future[T]:
        """Queue ``fn(session)``; it runs in its own transaction, committed if it returns."""
        if self._closed:
            raise RuntimeError("the library is closed")
        future: Future[T] = Future()
        if threading.current_thread() is self._thread:
            # Waiting on ourselves would deadlock; a write must do all its work in one call.
            raise RuntimeError("a library write may not submit another write")
        self._queue.put((fn, future))
        return future

    def call(self, fn: Callable[[Session], T]) -> T:
        return self.submit(fn).result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            fn, future = item
            if future.set_running_or_notify_cancel():
                self._execute(fn, future)

    def _execute(self, fn: Callable[[Session], T], future: Future[T]) -> None:
        session = self._sessions()
        try:
            result = fn(session)
            session.commit()
        except BaseException as exc:  # handed to the caller, never lost in the thread
            session.rollback()
            future.set_exception(exc)
        else:
            future.set_result(result)
        finally:
            session.close()
