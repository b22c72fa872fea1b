"""Import modules in a background thread while the process waits for its workers.

A first scan of many images spends seconds waiting for the decoding workers, then seconds importing
scikit-learn and scipy.stats for the statistics scanners. Importing them during the wait moves that time
off the critical path. Only started once the worker processes exist (see :class:`~splitcheck._parallel.WorkerPool`):
forking while another thread holds an import lock could hang a worker.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable

_STARTED: list[Prefetch] = []


def wait_for_imports() -> None:
    """Block until every background import has finished (call before forking: a child forked while another
    thread holds an import lock could hang on that module)."""
    while _STARTED:
        _STARTED[0].join()  # removes itself from _STARTED


class Prefetch:
    """Imports ``modules`` in one daemon thread on :meth:`start`; failures are ignored (the real import reports them)."""

    def __init__(self, modules: Iterable[str]) -> None:
        self.modules = tuple(dict.fromkeys(modules))
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None and self.modules:
            self._thread = threading.Thread(target=self._run, name="splitcheck-prefetch", daemon=True)
            self._thread.start()
            _STARTED.append(self)

    def _run(self) -> None:
        for name in self.modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001,S112  (the scanner importing it for real raises a proper error)
                continue

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            if self in _STARTED:
                _STARTED.remove(self)
