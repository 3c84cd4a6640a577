"""Spawning worker processes without fighting the program over multiprocessing's global start method."""

from __future__ import annotations

import multiprocessing
import signal
import sys
import threading
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any, Dict, Optional, Set

SPAWN: SpawnContext = multiprocessing.get_context("spawn")

_launch_lock = threading.Lock()


class WorkerProcess(SpawnProcess):
    """A spawned process whose child does not inherit a fixed global start method.

    multiprocessing passes the parent's start method to a spawned child, which sets it before importing the
    parent's main module again. A main module that calls ``set_start_method('spawn')`` at top level (a common
    way to write a worker program) would then raise "context has already been set" in every child. Leaving the
    start method out of the child's preparation data keeps such a program working; WorkerHost never relies on it.
    """

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        from multiprocessing import spawn

        if sys.platform == "win32":
            from multiprocessing.popen_spawn_win32 import Popen
        else:
            from multiprocessing.popen_spawn_posix import Popen

        with _launch_lock:
            original = spawn.get_preparation_data

            def preparation_data(name: str) -> Dict[str, Any]:
                data: Dict[str, Any] = original(name)
                data.pop("start_method", None)
                return data

            spawn.get_preparation_data = preparation_data
            blocked = block_stop_signals()
            try:
                return Popen(process_obj)
            finally:
                spawn.get_preparation_data = original
                if blocked is not None:
                    unblock_stop_signals(blocked)


_STOPS = {signal.SIGINT, signal.SIGTERM}


def block_stop_signals() -> Optional[Set[int]]:
    """Block SIGINT/SIGTERM in this thread while it spawns: the child inherits the mask, so a stop that comes
    while it still imports the program waits until its handlers are in place (:func:`unblock_stop_signals`
    there) instead of killing it or printing a KeyboardInterrupt traceback."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return set(signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS))


def unblock_stop_signals(previous: Optional[Set[int]] = None) -> None:
    """Restore the mask :func:`block_stop_signals` returned, or (in a worker process) unblock the stops."""
    if not hasattr(signal, "pthread_sigmask"):
        return
    if previous is None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPS)
    else:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def in_spawned_bootstrap() -> bool:
    """True while a spawned child re-imports the parent's main module (before it runs its worker).

    A main script without an ``if __name__ == "__main__":`` guard builds and starts a WorkerHost again at that
    moment; the host does nothing then, so the child goes on to run the worker it was started for.
    """
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))
