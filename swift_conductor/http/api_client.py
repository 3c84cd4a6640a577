"""What every client sends through: URLs in the server's path dialect, JSON in and out, typed errors.

The bytes travel through a :class:`~swift_conductor.http.transports.Transport` that every client of the same
server in a process shares (see :mod:`.registry`). ``ApiClient.close()`` closes it; a client used after that
opens a new one.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Dict, Mapping, Optional, Sequence, Union
from urllib.parse import quote, urlencode, urlsplit

from .._version import __version__
from ..configuration import Configuration
from ..errors import ConductorApiError, ConductorConnectionError, InvalidResponseError, error_for_status
from .registry import registry
from .transports import RawRequest, RawResponse, Transport

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

EXCERPT = 160  # error bodies in messages are cut to one line of at most this many characters
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

#: The encoder of every request body (one: json.dumps with options builds a new one on each call). Workers' outputs
#: are checked with it too, so what passes the check is what can be sent.
BODY_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)

Params = Optional[Mapping[str, Union[str, int, Sequence[str]]]]


class ApiClient:
    """Sends requests for the clients: builds URLs in the right dialect and turns failures into errors."""

    def __init__(self, configuration: Optional[Configuration] = None) -> None:
        self.configuration = configuration or Configuration()
        self._base_headers = {
            "Accept": "application/json, text/plain, */*",
            "User-Agent": f"swift-conductor-client/{__version__}",
            **self.configuration.headers,
        }
        self._transport: Optional[Transport] = None
        self._pid = 0
        self.facts = registry.facts(self.configuration.server_api_url)

    # -- paths ---------------------------------------------------------------------------------------------
    def resolve_dialect(self) -> str:
        """The server's path dialect: the configured one, or asked of the server once per process.

        Netflix and OSS serve ``/tasks/queue/sizes``; Swift 3.16 answers 404 there and serves ``/task``. While the
        server cannot be reached the common dialect is used and the question is asked again next time.
        """
        if self.configuration.dialect != "auto":
            return self.configuration.dialect
        found = self.facts.dialect
        if found is None:
            found = self._detect_dialect()
            if found is None:
                return "tasks"
            self.facts.dialect = found
        return found

    def path(self, key: str) -> str:
        return _DIALECT_PATHS[self.resolve_dialect()][key]

    def _detect_dialect(self) -> Optional[str]:
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
        idempotent: Optional[bool] = None,
        expect_json: bool = False,
    ) -> Any:
        """Send a request; return decoded JSON, the text of a text/plain answer, or None for 204/empty.

        ``idempotent`` (default: by method) says whether the request may be sent again after its connection
        failed past the write (see :mod:`.transports`). ``expect_json``: a 2xx answer that is not JSON raises
        :class:`InvalidResponseError` instead of coming back as text.
        """
        data: Optional[bytes] = None
        headers: Dict[str, str] = {}
        if json_body is not None:
            data = BODY_ENCODER.encode(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif text_body is not None:
            data = text_body.encode()
            headers["Content-Type"] = "text/plain"
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        response = self._send(method, path, params, data, headers, read_timeout, idempotent)
        if response.status >= 400:
            raise self._api_error(method, response)
        if response.status == 204 or not response.body:
            return None
        if "json" in response.content_type:
            try:
                return json.loads(response.body.decode("utf-8"))  # Conductor answers in UTF-8: no detection
            except ValueError as exc:  # UnicodeDecodeError included
                raise self._invalid(response, "invalid JSON") from exc
        if expect_json:
            raise self._invalid(response, f"not JSON ({response.content_type or 'no content type'})")
        return response.text

    def _send(
        self,
        method: str,
        path: str,
        params: Params,
        data: Optional[bytes],
        headers: Optional[Dict[str, str]] = None,
        read_timeout: Optional[float] = None,
        idempotent: bool = True,
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
        request = RawRequest(
            method,
            url,
            all_headers,
            data,
            config.connect_timeout,
            read_timeout or config.read_timeout,
            idempotent,
        )
        transport = self._transport
        if transport is None or transport.closed or self._pid != os.getpid():
            transport = self._transport = registry.transport(config.server_api_url, config.verify, config.transport)
            self._pid = os.getpid()
        return transport.send(request)

    def close(self) -> None:
        """Close the connections to this server (shared by this process's clients of it; they reconnect)."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    # -- errors --------------------------------------------------------------------------------------------
    def _hint(self, response: RawResponse) -> str:
        if response.body.lstrip()[:1] == b"<" or "html" in response.content_type:
            return (
                f" (the answer is a web page, not a Conductor API answer: is {self.configuration.server_api_url} "
                "a Conductor server's API URL?)"
            )
        if response.status == 404 and not urlsplit(self.configuration.server_api_url).path.rstrip("/").endswith("/api"):
            return " (a Conductor API URL usually ends in /api, e.g. http://localhost:8080/api)"
        return ""

    def _invalid(self, response: RawResponse, what: str) -> InvalidResponseError:
        return InvalidResponseError(
            f"HTTP {response.status} ({response.url}): the server's answer is {what}: "
            f"{excerpt(response.text)!r}{self._hint(response)}",
            url=response.url,
            status=response.status,
        )

    def _api_error(self, method: str, response: RawResponse) -> ConductorApiError:
        body: Dict[str, Any] = {}
        message = excerpt(response.text) or response.reason or ""
        retryable: Optional[bool] = None
        try:
            decoded = json.loads(response.body)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            body = decoded
            message = excerpt(str(decoded.get("message") or decoded.get("error") or message))
            if isinstance(decoded.get("retryable"), bool):
                retryable = decoded["retryable"]
        cls = error_for_status(response.status)
        return cls(
            response.status,
            message + self._hint(response),
            retryable=retryable,
            method=method,
            url=response.url,
            body=body,
        )


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """The start of ``text`` on one line: whitespace runs folded, cut at ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def segment(value: str) -> str:
    """A name or id quoted for use as one URL path segment."""
    return quote(str(value), safe="")
