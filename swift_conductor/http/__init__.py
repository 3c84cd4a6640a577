"""The HTTP layer: wire models, the shared closable transports and the API client."""

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
)
from .api_client import ApiClient

__all__ = [
    "ApiClient",
    "BadRequestError",
    "ConductorApiError",
    "ConductorConnectionError",
    "ConductorError",
    "ConflictError",
    "InvalidResponseError",
    "NotFoundError",
    "RequestDeadlineError",
    "ServerError",
]
