"""What every client sends through: URLs in the server's path dialect, JSON in and out, typed errors.

The bytes travel through a sender from :mod:`.connection`, shared by every client of the same server in a
process (keep-alive connections, made anew in each process).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote, urlencode

from .._version import __version__
from ..configuration import Configuration
from .connection import RawResponse, Sender, make_sender
from .errors import ConductorApiError, ConductorConnectionError, error_for_status

logger = logging.getLogger("swift_conductor.http")

# Path pieces that differ between the dialects; everything else is shared.
_DIALECT_PATHS: Dict[str, Dict[str, str]] = {
    "tasks": {
        "tasks": "tasks",
        "taskdefs": "metadata/taskdefs",
        "workflowdefs": "metadata/workflow",
        "polldata": "queue/polldata",
    },
    "task": {
        "tasks": "task",
        "taskdefs": "metadata/taskdef",
        "workflowdefs": "metadata/workflowdef",
        "polldata": "queue/poll-data",
    },
}

_senders_lock = threading.Lock()
_senders: Dict[Tuple[int, str, str, str], Sender] = {}
_dialects: Dict[str, str] = {}

Params = Optional[Mapping[str, Union[str, int, Sequence[str]]]]


def sender_for(configuration: Configuration) -> Sender:
    """The sender this process uses for a server: shared by every client of that server in the process."""
    key = (os.getpid(), configuration.server_api_url, repr(configuration.verify), configuration.transport)
    sender = _senders.get(key)
    if sender is None:
        with _senders_lock:
            sender = _senders.get(key)
            if sender is None:
                sender = make_sender(configuration.server_api_url, configuration.verify, configuration.transport)
                _senders[key] = sender
    return sender


class ApiClient:
    """Sends requests for the clients: builds URLs in the right dialect and turns failures into errors."""

    def __init__(self, configuration: Optional[Configuration] = None) -> None:
        self.configuration = configuration or Configuration()
        self._base_headers = {
            "Accept": "application/json, text/plain, */*",
            "User-Agent": f"swift-conductor-client/{__version__}",
            **self.configuration.headers,
        }
        self._sender: Optional[Tuple[int, Sender]] = None  # looked up once per process, not per request

    # -- paths ---------------------------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        if self.configuration.dialect != "auto":
            return self.configuration.dialect
        url = self.configuration.server_api_url
        found = _dialects.get(url)
        if found is None:
            found = self._detect_dialect()
            if found is None:
                return "tasks"  # the server is away: use the common dialect now, ask again next time
            _dialects[url] = found
        return found

    def path(self, key: str) -> str:
        return _DIALECT_PATHS[self.dialect][key]

    def _detect_dialect(self) -> Optional[str]:
        """Netflix/OSS serve ``/tasks/queue/sizes``; Swift 3.16 answers 404 there and serves ``/task``."""
        for dialect in ("tasks", "task"):
            try:
                response = self._send(
                    "GET", f"{_DIALECT_PATHS[dialect]['tasks']}/queue/sizes", {"taskType": "_probe"}, None
                )
            except ConductorConnectionError:
                return None
            if response.status in (408, 429) or response.status >= 500:
                return None  # a server starting up or a gateway in the way: ask again next time
            if response.status != 404:
                logger.debug("server at %s speaks the %r dialect", self.configuration.server_api_url, dialect)
                return dialect
        return "tasks"

    # -- requests ------------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params = None,
        json_body: Any = None,
        text_body: Optional[str] = None,
        read_timeout: Optional[float] = None,
    ) -> Any:
        """Send a request; return decoded JSON, the text of a text/plain answer, or None for 204/empty."""
        data: Optional[bytes] = None
        headers: Dict[str, str] = {}
        if json_body is not None:
            data = json.dumps(json_body, separators=(",", ":"), allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        elif text_body is not None:
            data = text_body.encode()
            headers["Content-Type"] = "text/plain"
        response = self._send(method, path, params, data, headers, read_timeout)
        if response.status >= 400:
            raise _api_error(method, response)
        if response.status == 204 or not response.body:
            return None
        if "json" in response.content_type:
            try:
                return json.loads(response.body)
            except ValueError as exc:
                raise ConductorApiError(
                    response.status,
                    f"server sent invalid JSON: {response.text[:200]!r}",
                    retryable=True,
                    method=method,
                    url=response.url,
                ) from exc
        return response.text

    def _send(
        self,
        method: str,
        path: str,
        params: Params,
        data: Optional[bytes],
        headers: Optional[Dict[str, str]] = None,
        read_timeout: Optional[float] = None,
    ) -> RawResponse:
        config = self.configuration
        url = f"{config.server_api_url}/{path}"
        if params:
            url = f"{url}?{urlencode(params, doseq=True)}"
        all_headers = {**self._base_headers, **(headers or {})}
        if data is not None:
            all_headers["Content-Length"] = str(len(data))
        elif method in ("POST", "PUT"):
            all_headers["Content-Length"] = "0"
        timeout = (config.connect_timeout, read_timeout or config.read_timeout)
        sender = self._sender
        if sender is None or sender[0] != os.getpid():
            sender = self._sender = (os.getpid(), sender_for(config))
        return sender[1].send(method, url, all_headers, data, timeout)


def segment(value: str) -> str:
    """A name or id quoted for use as one URL path segment."""
    return quote(str(value), safe="")


def _api_error(method: str, response: RawResponse) -> ConductorApiError:
    body: Dict[str, Any] = {}
    message = response.text[:500] or response.reason or ""
    retryable: Optional[bool] = None
    try:
        decoded = json.loads(response.body)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        body = decoded
        message = str(decoded.get("message") or decoded.get("error") or message)
        if isinstance(decoded.get("retryable"), bool):
            retryable = decoded["retryable"]
    cls = error_for_status(response.status)
    return cls(response.status, message, retryable=retryable, method=method, url=response.url, body=body)
