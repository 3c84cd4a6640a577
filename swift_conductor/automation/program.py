"""How a host fits into the program that runs it: importing the modules that register workers, and stopping the
workers when the program exits without stopping them itself."""

from __future__ import annotations

import atexit
import importlib
import logging
from typing import Callable, List, Sequence

from ..worker.registry import registered_workers
from ..worker.worker_interface import WorkerAbc

logger = logging.getLogger("swift_conductor.automation")


def registry_workers(modules: Sequence[str] = (), workers: Sequence[WorkerAbc] = ()) -> List[WorkerAbc]:
    """Every ``@worker_task`` function registered once ``modules`` are imported, plus ``workers``."""
    for module in modules:
        importlib.import_module(module)
    return [*registered_workers(), *workers]


class ExitHook:
    """Calls ``stop`` when the interpreter exits (an uncaught exception, the end of the script) unless
    :meth:`cancel` came first, so multiprocessing does not wait forever on workers nobody stops."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._armed = False

    def arm(self) -> None:
        if not self._armed:
            atexit.register(self._at_exit)
            self._armed = True

    def cancel(self) -> None:
        if self._armed:
            atexit.unregister(self._at_exit)
            self._armed = False

    def _at_exit(self) -> None:
        self._armed = False
        logger.info("program exiting: stopping workers")
        self._stop()
