"""Every exception this package raises, under one root that callers can catch.

::

    ConductorError                      catch this for "anything from swift_conductor"
    ├── ConductorConnectionError        no answer: refused, reset, timed out (retryable)
    │   └── RequestDeadlineError        the answer took longer than the request's overall deadline
    ├── InvalidResponseError            an answer that is not what a Conductor server sends (retryable)
    ├── ConductorApiError               the server answered with an HTTP error status
    │   ├── BadRequestError             400
    │   ├── NotFoundError               404
    │   ├── ConflictError               409
    │   └── ServerError                 5xx
    ├── WorkerConfigurationError        a bad worker setting, raised when a host is built (also a ValueError)
    ├── NonRetryableError               raised by a worker: fail the task for good (FAILED_WITH_TERMINAL_ERROR)
    │   └── TaskInputError              the task's input does not fit the worker function's parameters
    └── ServerUnavailable               (swift_conductor.testing) the server a test was pointed at does not answer

``retryable`` on every error says whether trying the same call again later can succeed; the rule behind it lives
in :mod:`swift_conductor.retry`, the one place that decides it. The embedded server's own errors
(:mod:`swift_conductor.devserver.errors`) are HTTP answers it sends, not errors a client sees, and stand apart.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from .retry import retryable_status

__all__ = [
    "BadRequestError",
    "ConductorApiError",
    "ConductorConnectionError",
    "ConductorError",
    "ConflictError",
    "InvalidResponseError",
    "NonRetryableError",
    "NotFoundError",
    "RequestDeadlineError",
    "ServerError",
    "TaskInputError",
    "WorkerConfigurationError",
    "error_for_status",
]


class ConductorError(Exception):
    """The root: every error this package raises derives from it."""

    retryable: bool = False


class ConductorConnectionError(ConductorError):
    """The server could not be reached or did not answer in time. Always worth retrying."""

    retryable = True

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class RequestDeadlineError(ConductorConnectionError):
    """The whole request (connect, send, every read) outlasted its deadline: a stalled or trickling server."""


class InvalidResponseError(ConductorError):
    """A 2xx answer this client cannot use: not JSON where JSON is due, or a task without the ids it needs.

    Retryable: a proxy or load balancer in the way (an HTML error page with status 200) is usually passing.
    """

    retryable = True

    def __init__(self, message: str, *, url: str = "", status: int = 200) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class ConductorApiError(ConductorError):
    """The server answered with an HTTP error. ``server_retryable`` is what its body said, if it said."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        retryable: Optional[bool] = None,
        method: str = "",
        url: str = "",
        body: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.status = status
        self.message = message
        self.server_retryable = retryable
        self.retryable = retryable_status(status, retryable)
        self.method = method
        self.url = url
        self.body = body or {}
        where = f" ({method} {url})" if url else ""
        super().__init__(f"HTTP {status}{where}: {message}")

    @property
    def validation_errors(self) -> list:
        return list(self.body.get("validationErrors") or [])


class BadRequestError(ConductorApiError):
    """400: the request was invalid."""


class NotFoundError(ConductorApiError):
    """404: no such task, workflow, definition or path."""


class ConflictError(ConductorApiError):
    """409: the thing already exists, or is in a state that forbids the call."""


class ServerError(ConductorApiError):
    """5xx: the server failed."""


def error_for_status(status: int) -> type:
    if status == 400:
        return BadRequestError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status >= 500:
        return ServerError
    return ConductorApiError


class WorkerConfigurationError(ConductorError, ValueError):
    """A worker setting (constructor, ``worker.ini`` or environment) has a bad value; raised at host build."""


class NonRetryableError(ConductorError):
    """Raise from a worker to fail the task with FAILED_WITH_TERMINAL_ERROR: the server will not retry it."""


class TaskInputError(NonRetryableError):
    """The task's input does not fit the worker function's parameters. Retrying the same input cannot help."""
