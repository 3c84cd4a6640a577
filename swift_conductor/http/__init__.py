"""The HTTP layer: wire models, the shared closable transports and the API client (errors: :mod:`.errors`)."""

from . import errors
from .api_client import ApiClient
from .errors import *  # noqa: F403

__all__ = ["ApiClient", *errors.__all__]
