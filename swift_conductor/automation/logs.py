"""Logging for a WorkerHost and its worker processes: one stream, one format, set up only by the host.

- Each worker process sends every record it lets through to the host over its own multiprocessing queue
  (a stdlib ``QueueHandler`` on the worker process's root logger; the worker process is the host's own
  interpreter, so configuring its root is ours to do). Levels there mirror the host's at spawn time: the root
  level, every level set explicitly on a logger, and ``log_level`` for ``swift_conductor``.
- The host hands each record to the handlers the same logger has in the host (``QueueListener``), so an
  application's own logging setup applies to worker records too. When no handler would take a record, the
  host's own handler does (not the bare-text "last resort" of the stdlib).
- The host adds that handler to the ``swift_conductor`` logger only when nothing would print its records (no
  handler on it or any ancestor), and never touches the root logger: the CLI, which owns its process, does.
- Every line carries time, level, process id and, inside a worker process, the worker and the task id.
  ``log_format="json"`` writes one JSON object per line for log shippers.
"""

from __future__ import annotations

import datetime
import json
import logging
import logging.handlers
import os
import queue as queue_module
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

from ..worker import context as task_context

LOG_LEVEL_ENV = "CONDUCTOR_LOG_LEVEL"
LOG_FORMAT_ENV = "CONDUCTOR_LOG_FORMAT"
FORMATS = ("text", "json")
PACKAGE_LOGGER = "swift_conductor"

LevelLike = Union[int, str, None]


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


#: The ``log_level`` default: ``$CONDUCTOR_LOG_LEVEL``, else INFO.
DEFAULT: Any = _Default()


def parse_level(value: LevelLike, source: str = "log_level") -> Optional[int]:
    """An int level, a level name ("debug", "INFO") or None; anything else is refused with its source."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, str):
        text = value.strip().upper()
        if text.isdigit():
            return int(text)
        level = logging.getLevelName(text)
        if isinstance(level, int):
            return level
    raise ValueError(f"{source}: {value!r} is not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL)")


def resolve_level(value: Any, environ: Optional[Mapping[str, str]] = None) -> Optional[int]:
    """``log_level`` as given; the default reads ``CONDUCTOR_LOG_LEVEL`` (INFO when unset)."""
    if value is DEFAULT:
        env = os.environ if environ is None else environ
        raw = env.get(LOG_LEVEL_ENV)
        return parse_level(raw, f"environment variable {LOG_LEVEL_ENV}") if raw else logging.INFO
    return parse_level(value)


def resolve_format(value: Optional[str], environ: Optional[Mapping[str, str]] = None) -> str:
    env = os.environ if environ is None else environ
    source = "log_format"
    if value is None:
        value, source = env.get(LOG_FORMAT_ENV) or "text", f"environment variable {LOG_FORMAT_ENV}"
    text = value.strip().lower()
    if text not in FORMATS:
        raise ValueError(f"{source}: {value!r} must be one of {', '.join(FORMATS)}")
    return text


# -- formatting ---------------------------------------------------------------------------------------------------
class ConductorFormatter(logging.Formatter):
    """``2026-01-02 10:11:12,345 INFO 4242 [worker=resize task=8f1c...] myapp.images: message`` or JSON."""

    def __init__(self, style: str = "text") -> None:
        super().__init__()
        self.style_name = style

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        worker = getattr(record, "worker", None)
        task_id = getattr(record, "task_id", None)
        if self.style_name == "json":
            data: Dict[str, Any] = {
                "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(
                    timespec="milliseconds"
                ),
                "level": record.levelname,
                "logger": record.name,
                "process": record.process,
                "message": message,
            }
            if worker:
                data["worker"] = worker
            if task_id:
                data["task_id"] = task_id
                data["workflow_id"] = getattr(record, "workflow_id", None)
                data["task_type"] = getattr(record, "task_type", None)
            if record.exc_text:
                data["exception"] = record.exc_text
            return json.dumps(data, default=str)
        where = []
        if worker:
            where.append(f"worker={worker}")
        if task_id:
            where.append(f"task={task_id}")
        context = f"[{' '.join(where)}] " if where else ""
        line = f"{self.formatTime(record)} {record.levelname} {record.process} {context}{record.name}: {message}"
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class ContextFilter(logging.Filter):
    """Stamps each record with the worker of this process and the task the calling thread is running."""

    def __init__(self, worker: Optional[str] = None) -> None:
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        if self.worker and not hasattr(record, "worker"):
            record.worker = self.worker
        current = task_context.current_task_or_none()
        if current is not None and not hasattr(record, "task_id"):
            record.task_id = current.task_id
            record.workflow_id = current.workflow_id
            record.task_type = current.task_type
        return True


def stream_handler(style: str = "text") -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(ConductorFormatter(style))
    return handler


def configure_root(level: Optional[int], style: str = "text") -> logging.Handler:
    """For programs that own their process (the ``swift-conductor`` command): one handler on the root logger,
    replacing any, so every logger prints once, in one format."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = stream_handler(style)
    root.addHandler(handler)
    if level is not None:
        root.setLevel(level)
    return handler


# -- the host side ------------------------------------------------------------------------------------------------
@dataclass
class ChildLogging:
    """What a worker process needs to log like its host (picklable: it crosses into the process)."""

    queue: Any
    levels: Dict[str, int] = field(default_factory=dict)
    worker: str = ""


class HostLogging:
    """The host's end: its handler (when one is needed) and one listener per worker process."""

    def __init__(self, level: Optional[int], style: str = "text", debug: bool = False) -> None:
        self.level = logging.DEBUG if debug else level
        self.style = style
        self.handler: Optional[logging.Handler] = None
        self._lock = threading.Lock()
        self._listeners: List[_ProcessListener] = []

    def setup(self) -> None:
        """Make the ``swift_conductor`` records visible, unless the application already takes care of it."""
        package = logging.getLogger(PACKAGE_LOGGER)
        if self.level is not None:
            package.setLevel(self.level)
        if self.handler is None and self.level is not None and not package.hasHandlers():
            self.handler = stream_handler(self.style)
            package.addHandler(self.handler)

    def for_process(self, worker: str, context: Any, on_other: Optional[Callable[[Any], None]] = None) -> ChildLogging:
        """A fresh queue per worker process (a process killed mid-write can leave a queue's lock held, so a
        queue never outlives its process) and a listener for it. Items that are not log records (metrics
        samples) go to ``on_other``."""
        channel = context.Queue()
        listener = _ProcessListener(channel, _Dispatch(self), on_other)
        listener.start()
        with self._lock:
            self._listeners = [x for x in self._listeners if not x.finished]
            self._listeners.append(listener)
        return ChildLogging(channel, level_snapshot(self.level), worker)

    def finish(self, child: Optional[ChildLogging]) -> None:
        """The process is gone: read what it left in its queue, then stop listening to it."""
        if child is None:
            return
        with self._lock:
            listeners = [x for x in self._listeners if x.channel is child.queue]
            self._listeners = [x for x in self._listeners if x.channel is not child.queue]
        for listener in listeners:
            listener.finish()

    def close(self) -> None:
        with self._lock:
            listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.finish()

    def fallback(self) -> logging.Handler:
        if self.handler is None:
            self.handler = stream_handler(self.style)
        return self.handler


def level_snapshot(package_level: Optional[int]) -> Dict[str, int]:
    """The host's levels a worker process should copy: root, every explicitly set logger, ``swift_conductor``."""
    levels = {"": logging.getLogger().level}
    for name, item in list(logging.root.manager.loggerDict.items()):
        if isinstance(item, logging.Logger) and item.level != logging.NOTSET:
            levels[name] = item.level
    if package_level is not None:
        levels[PACKAGE_LOGGER] = package_level
    return levels


class _Dispatch(logging.Handler):
    """Hands a worker process's record to the host's handlers for its logger, else to the host's own."""

    def __init__(self, host: HostLogging) -> None:
        super().__init__()
        self.host = host

    def emit(self, record: logging.LogRecord) -> None:
        target = logging.getLogger(record.name) if record.name != "root" else logging.getLogger()
        if target.hasHandlers():
            target.handle(record)
        else:
            self.host.fallback().handle(record)


_END: Any = None  # what QueueListener takes as the end of its queue


class _ProcessListener(logging.handlers.QueueListener):
    """A QueueListener that can be finished without writing to the queue (its writer may be dead)."""

    def __init__(
        self, channel: Any, handler: logging.Handler, on_other: Optional[Callable[[Any], None]] = None
    ) -> None:
        super().__init__(channel, handler, respect_handler_level=False)
        self.channel: Any = channel
        self.on_other = on_other
        self._done = threading.Event()
        self.finished = False

    def dequeue(self, block: bool) -> Any:
        while True:
            try:
                return self.channel.get(timeout=0.2)
            except queue_module.Empty:
                if self._done.is_set():
                    return _END
            except (EOFError, OSError, ValueError):
                return _END  # the queue is closed or broken: nothing more will come
            except Exception:  # a record that cannot be unpickled: skip it rather than stop listening
                if self._done.is_set():
                    return _END

    def handle(self, record: Any) -> None:
        if isinstance(record, logging.LogRecord):
            super().handle(record)
        elif self.on_other is not None:
            try:
                self.on_other(record)
            except Exception:
                logging.getLogger(PACKAGE_LOGGER).exception("could not take a message from a worker process")

    def finish(self) -> None:
        self._done.set()
        thread = self._thread
        if thread is not None:
            thread.join(5)
        self._thread = None
        self.finished = True
        try:
            self.channel.close()
        except Exception:
            pass
        # Drop the queue so its semaphores are released now, not reported as leaked when the program exits.
        self.channel = None
        self.queue = None  # type: ignore[assignment]


# -- the worker-process side --------------------------------------------------------------------------------------
class _ChildQueueHandler(logging.handlers.QueueHandler):
    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """A picklable copy: message merged with its arguments, traceback as text."""
        message = record.getMessage()
        copy = logging.makeLogRecord(record.__dict__)
        copy.msg = message
        copy.args = None
        copy.message = message
        if record.exc_info:
            copy.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
        copy.exc_info = None
        return copy


def start_child(child: Optional[ChildLogging]) -> None:
    """In a worker process: every record goes to the host, at the host's levels."""
    if child is None:
        return
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = _ChildQueueHandler(child.queue)
    handler.addFilter(ContextFilter(child.worker))
    root.addHandler(handler)
    for name, level in child.levels.items():
        logging.getLogger(name or None).setLevel(level)


def flush_child(child: Optional[ChildLogging]) -> None:
    """Before the process leaves with ``os._exit``: push what is queued into the pipe."""
    if child is None:
        return
    try:
        child.queue.close()
        child.queue.join_thread()
    except Exception:
        pass
