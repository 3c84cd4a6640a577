"""What a worker process tells the operator: its start line, polling trouble and recovery, errors in one line."""

from __future__ import annotations

import logging
import time
from typing import Any, Optional, Sequence

from ..http.errors import ConductorApiError
from ..worker.settings import WorkerSettings

logger = logging.getLogger("swift_conductor.automation")

ERROR_LINE_MAX = 200  # characters of an error shown in a log line
QUIET_WARNINGS = 3  # failed polls in a row logged at WARNING before the log goes quiet...
STILL_FAILING_EVERY_S = 60.0  # ...except for one WARNING this often while it lasts


def one_line(text: str, limit: int = ERROR_LINE_MAX) -> str:
    """``text`` on one line of at most ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short_error(exc: BaseException, server: str = "") -> str:
    """The error on one short line; an HTML page answered for an API call is named as such, with a hint that
    ``server`` may not be a Conductor server's API root.

    A 404 gets no hint here: the API client that raised it already added one when its URL lacks ``/api`` (it
    alone knows the URL it was configured with), and a 404 on a URL that has it (e.g. a task id the server
    does not know) is no sign of a wrong URL."""
    message = str(getattr(exc, "message", "") or "")
    if isinstance(exc, ConductorApiError) and (message.lstrip().startswith("<") or "<html" in message.lower()):
        text = f"HTTP {exc.status} ({exc.method} {exc.url}) with an HTML page"
        return f"{one_line(text)}; is {server or 'the server URL'} a Conductor server's API root?"
    return one_line(str(exc))


def server_url(client: Any, configuration: Any = None) -> str:
    """The API URL a client talks to, for log lines (empty when it cannot be told)."""
    for source in (configuration, getattr(getattr(client, "api", None), "configuration", None)):
        url = getattr(source, "server_api_url", None)
        if isinstance(url, str):
            return url
    return ""


def worker_name(worker: Any) -> str:
    """A function worker by its function's name, a class worker by its class name."""
    function = getattr(worker, "execute_function", None)
    if function is not None:
        name = getattr(function, "__qualname__", None) or type(function).__name__
        module = getattr(function, "__module__", None)
        return f"{module}.{name}" if module and module not in ("__main__", "__mp_main__") else str(name)
    return type(worker).__qualname__


def log_start(worker: Any, settings: Sequence[WorkerSettings], server: str, thread_count: int) -> None:
    for s in settings:
        logger.info(
            "worker %s polling %s as %s: threads=%d domain=%s paused=%s interval=%gs long_poll=%s server=%s",
            worker_name(worker), s.task_name, worker.get_identity(), thread_count, s.domain or "-",
            "yes" if s.paused else "no", s.polling_interval_seconds,
            "auto" if s.poll_timeout is None else f"{s.poll_timeout}ms", server,
        )  # fmt: skip


class PollLog:
    """Polling trouble in the log: the first failures at WARNING, then one WARNING a minute while it lasts,
    and an INFO line when polling works again."""

    def __init__(self, server: str = "") -> None:
        self.server = server
        self._since: Optional[float] = None
        self._count = 0
        self._last_warning = 0.0

    def failed(self, task_name: str, exc: BaseException, delay: float) -> None:
        now = time.monotonic()
        if self._since is None:
            self._since = now
        self._count += 1
        line = short_error(exc, self.server)
        if self._count <= QUIET_WARNINGS or isinstance(exc, ConductorApiError):
            self._last_warning = now
            logger.warning(
                "poll for %s failed (%d in a row): %s; next try in %.1f s", task_name, self._count, line, delay
            )
        elif now - self._last_warning >= STILL_FAILING_EVERY_S:
            self._last_warning = now
            logger.warning(
                "still cannot poll for %s: %d failures over %.0f s, last: %s; retrying with backoff",
                task_name, self._count, now - self._since, line,
            )  # fmt: skip
        else:
            logger.debug(
                "poll for %s failed (%d in a row): %s; next try in %.1f s", task_name, self._count, line, delay
            )

    def succeeded(self) -> None:
        if self._since is None:
            return
        logger.info(
            "reconnected after %.1f s: polling works again (%d failed poll(s))",
            time.monotonic() - self._since, self._count,
        )  # fmt: skip
        self._since = None
        self._count = 0
