"""Typed errors for server answers, so callers branch on a class or ``retryable``, never on text."""

from __future__ import annotations

from typing import Any, Dict, Optional


class ConductorError(Exception):
    """Base of every error this package raises about talking to a server."""

    retryable: bool = False


class ConductorConnectionError(ConductorError):
    """The server could not be reached or did not answer in time. Always worth retrying."""

    retryable = True

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class ConductorApiError(ConductorError):
    """The server answered with an HTTP error. ``retryable`` comes from its body when it says."""

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
        self.retryable = (status >= 500 or status == 429) if retryable is None else bool(retryable)
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
