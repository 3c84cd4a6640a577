"""One pooled HTTP session per process, the API path dialect, and error mapping.

Clients share the session (``requests`` pools connections per host), so a worker process opens a handful of
keep-alive connections however many clients and threads it runs. A session is never carried across a fork or
spawn: each process makes its own on first use.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote, urlencode

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from .. import __version__
from ..configuration import Configuration
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

_POOL_SIZE = 32
_session_lock = threading.Lock()
_session: Optional[Tuple[int, requests.Session]] = None
_dialects: Dict[str, str] = {}

Params = Optional[Mapping[str, Union[str, int, Sequence[str]]]]


def shared_session() -> requests.Session:
    """This process's session, made on first use (and anew in a child process)."""
    global _session
    pid = os.getpid()
    current = _session
    if current is not None and current[0] == pid:
        return current[1]
    with _session_lock:
        if _session is None or _session[0] != pid:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            # Proxy and CA-bundle variables are read once per client (see ApiClient), not on every request:
            # requests' per-request environment scan costs about half a millisecond of CPU per call.
            session.trust_env = False
            _session = (pid, session)
        return _session[1]


class ApiClient:
    """Sends requests for the clients: builds URLs in the right dialect and turns failures into errors."""

    def __init__(self, configuration: Optional[Configuration] = None) -> None:
        self.configuration = configuration or Configuration()
        self._environment: Optional[Tuple[Dict[str, str], Any]] = None
        self._base_headers = {
            "Accept": "application/json, text/plain, */*",
            "User-Agent": f"swift-conductor-client/{__version__}",
            **self.configuration.headers,
        }

    def _proxies_and_verify(self) -> Tuple[Dict[str, str], Any]:
        """HTTP(S)_PROXY / NO_PROXY and REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, as requests would read them."""
        if self._environment is None:
            config = self.configuration
            proxies = requests.utils.get_environ_proxies(config.server_api_url)
            verify = config.verify
            if verify is True:
                verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            self._environment = (dict(proxies), verify)
        return self._environment

    # -- paths ---------------------------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        if self.configuration.dialect != "auto":
            return self.configuration.dialect
        url = self.configuration.server_api_url
        found = _dialects.get(url)
        if found is None:
            found = self._detect_dialect()
            _dialects[url] = found
        return found

    def path(self, key: str) -> str:
        return _DIALECT_PATHS[self.dialect][key]

    def _detect_dialect(self) -> str:
        """Netflix/OSS serve ``/tasks/queue/sizes``; Swift 3.16 answers 404 there and serves ``/task``."""
        for dialect in ("tasks", "task"):
            try:
                response = self._send(
                    "GET", f"{_DIALECT_PATHS[dialect]['tasks']}/queue/sizes", {"taskType": "_probe"}, None
                )
            except ConductorConnectionError:
                return "tasks"  # undecided: do not cache a guess made while the server is away
            if response.status_code != 404:
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
            data = json.dumps(json_body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        elif text_body is not None:
            data = text_body.encode()
            headers["Content-Type"] = "text/plain"
        response = self._send(method, path, params, data, headers, read_timeout)
        if response.status_code >= 400:
            raise _api_error(method, response)
        if response.status_code == 204 or not response.content:
            return None
        content_type = response.headers.get("Content-Type", "")
        if "json" in content_type:
            try:
                return response.json()
            except ValueError as exc:
                raise ConductorApiError(
                    response.status_code,
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
    ) -> requests.Response:
        config = self.configuration
        url = f"{config.server_api_url}/{path}"
        if params:
            url = f"{url}?{urlencode(params, doseq=True)}"
        # A hand-built PreparedRequest sent with Session.send keeps requests' pooling, TLS and errors but skips
        # its per-call settings merge and URL re-parsing (most of its CPU cost on small requests).
        request = requests.PreparedRequest()
        request.method = method
        request.url = url
        request.headers = CaseInsensitiveDict({**self._base_headers, **(headers or {})})
        request.body = data
        if data is not None:
            request.headers["Content-Length"] = str(len(data))
        elif method in ("POST", "PUT"):
            request.headers["Content-Length"] = "0"
        request.hooks = {"response": []}
        timeout = (config.connect_timeout, read_timeout or config.read_timeout)
        proxies, verify = self._proxies_and_verify()
        try:
            return shared_session().send(
                request, timeout=timeout, verify=verify, proxies=proxies, allow_redirects=False, stream=False
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ConductorConnectionError(f"{method} {url}: {type(exc).__name__}: {exc}", url=url) from exc
        except requests.RequestException as exc:
            raise ConductorConnectionError(f"{method} {url}: {exc}", url=url) from exc


def segment(value: str) -> str:
    """A name or id quoted for use as one URL path segment."""
    return quote(str(value), safe="")


def _api_error(method: str, response: requests.Response) -> ConductorApiError:
    body: Dict[str, Any] = {}
    message = response.text[:500] or response.reason or ""
    retryable: Optional[bool] = None
    try:
        decoded = response.json()
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        body = decoded
        message = str(decoded.get("message") or decoded.get("error") or message)
        if isinstance(decoded.get("retryable"), bool):
            retryable = decoded["retryable"]
    cls = error_for_status(response.status_code)
    return cls(response.status_code, message, retryable=retryable, method=method, url=response.url, body=body)
