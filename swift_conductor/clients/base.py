"""What every client shares: the API client it sends through, and closing its connections."""

from __future__ import annotations

from types import TracebackType
from typing import Optional, Type, TypeVar

from ..configuration import Configuration
from ..http.api_client import ApiClient

C = TypeVar("C", bound="Client")


class Client:
    def __init__(self, configuration: Optional[Configuration] = None, *, api: Optional[ApiClient] = None):
        self.api = api or ApiClient(configuration)

    def close(self) -> None:
        """Close this process's connections to the server (other clients of it reconnect on their next call)."""
        self.api.close()

    def __enter__(self: C) -> C:
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()
