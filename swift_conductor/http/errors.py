"""The HTTP errors, importable from the HTTP layer too; defined once in :mod:`swift_conductor.errors`."""

from ..errors import (
    BadRequestError,
    ConductorApiError,
    ConductorConnectionError,
    ConductorError,
    ConflictError,
    InvalidResponseError,
    NotFoundError,
    RequestDeadlineError,
    ServerError,
    error_for_status,
)

__all__ = [
    "BadRequestError",
    "ConductorApiError",
    "ConductorConnectionError",
    "ConductorError",
    "ConflictError",
    "InvalidResponseError",
    "NotFoundError",
    "RequestDeadlineError",
    "ServerError",
    "error_for_status",
]
