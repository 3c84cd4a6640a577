"""The HTTP layer: wire models, the pooled transport and typed errors."""

from .errors import (
    BadRequestError,
    ConductorApiError,
    ConductorConnectionError,
    ConductorError,
    ConflictError,
    NotFoundError,
    ServerError,
)
from .transport import ApiClient

__all__ = [
    "ApiClient",
    "BadRequestError",
    "ConductorApiError",
    "ConductorConnectionError",
    "ConductorError",
    "ConflictError",
    "NotFoundError",
    "ServerError",
]
