"""How a request leaves this process: one small protocol, two implementations.

- :class:`StdlibTransport`: keep-alive connections of our own (:mod:`.connection`: HTTP/1.1 on the standard
  library's sockets), one per thread and server. The default, because a worker spends most of its CPU on its
  two calls: a round trip costs about a fifth of the client CPU of ``http.client`` and a tenth of ``requests``.
- :class:`RequestsTransport`: a pooled ``requests.Session``, used when a proxy from the environment applies to the
  server URL (``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY``, minus ``NO_PROXY``), or when
  ``Configuration(transport="requests")`` asks for it.

Both trust the same certificates (certifi's bundle, as requests does, or the CA bundle file or directory given),
both give every request an **overall deadline** (a server that trickles its answer a few bytes at a time cannot
hold a call for longer than that), and both can be closed.

**When a failed request is sent again.** A keep-alive connection the server closed while it sat idle fails on its
next use. Sending the request again on a fresh connection is safe only when that cannot run it twice on the
server:

- the connection failed *while the request was being written*: a server never acts on a request it did not
  receive whole, so any request is sent again, once;
- the connection failed *after the request was written* (no status line came back): the server may have acted on
  it. It is sent again only when the caller marked it idempotent. Task updates are (the server ignores a second
  update of a finished task, and a second IN_PROGRESS update re-queues the same task); **polls are not** (they
  dequeue tasks: a poll answered into a dead connection would hand out tasks nobody runs, and a repeat would
  take more), nor is update-v2 (it returns the next task), nor is starting a workflow.

A failure on a fresh connection is never retried here: the caller's retry policy decides
(:mod:`swift_conductor.retry`).
"""

from __future__ import annotations

import functools
import os
import socket
import ssl
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple, Union
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from typing_extensions import Protocol

from ..errors import ConductorConnectionError, RequestDeadlineError
from .connection import HttpConnection, NoAnswer, ProtocolError, WriteFailed

_POOL_SIZE = 32
_CHUNK = 65536

Verify = Union[bool, str]


@dataclass
class RawRequest:
    method: str
    url: str
    headers: Dict[str, str]
    body: Optional[bytes] = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    idempotent: bool = False  # may be sent again after the connection failed past the write (see above)
    deadline: float = field(default=0.0)  # monotonic time the whole call must end by; 0: connect + read timeout

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = time.monotonic() + self.connect_timeout + self.read_timeout


@dataclass
class RawResponse:
    status: int
    content_type: str
    body: bytes
    url: str
    reason: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Transport(Protocol):
    """What the API client sends through. Closing it closes its connections; a closed transport refuses work."""

    closed: bool

    def send(self, request: RawRequest) -> RawResponse: ...

    def close(self) -> None: ...


def _past_deadline(request: RawRequest) -> RequestDeadlineError:
    return RequestDeadlineError(
        f"{request.method} {request.url}: no complete answer within the request's deadline "
        f"({request.connect_timeout + request.read_timeout:.0f} s)",
        url=request.url,
    )


class StdlibTransport:
    """Keep-alive connections (:mod:`.connection`), one per (thread, scheme, host, port)."""

    def __init__(self, verify: Verify) -> None:
        self.verify = verify
        self.closed = False
        self._local = threading.local()
        self._ssl: Optional[ssl.SSLContext] = None
        self._all: weakref.WeakSet[HttpConnection] = weakref.WeakSet()
        self._lock = threading.Lock()

    def send(self, request: RawRequest) -> RawResponse:
        method, url = request.method, request.url
        if self.closed:
            raise ConductorConnectionError(f"{method} {url}: the transport is closed", url=url)
        key, target = _split(url)
        for attempt in (1, 2):
            conn, reused = self._connection(key, request)
            try:
                answer = conn.request(
                    method, target, request.headers, request.body, request.deadline, request.read_timeout
                )
            except (WriteFailed, NoAnswer) as exc:
                self._drop(key)
                written = isinstance(exc, NoAnswer)
                if reused and attempt == 1 and (not written or request.idempotent):
                    continue  # the server closed an idle keep-alive connection just as we reused it
                raise ConductorConnectionError(f"{method} {url}: {exc}", url=url) from exc
            except (socket.timeout, TimeoutError) as exc:
                self._drop(key)
                if time.monotonic() >= request.deadline:
                    raise _past_deadline(request) from exc
                raise ConductorConnectionError(f"{method} {url}: timed out: {exc}", url=url) from exc
            except (OSError, ProtocolError) as exc:
                self._drop(key)
                raise ConductorConnectionError(f"{method} {url}: {type(exc).__name__}: {exc}", url=url) from exc
            except (ValueError, UnicodeError) as exc:  # a header or path that cannot be sent; never echo values
                self._drop(key)
                raise ConductorConnectionError(
                    f"{method} {url}: invalid request ({type(exc).__name__})", url=url
                ) from None
            except BaseException:
                self._drop(key)  # a half-used connection must not be reused
                raise
            if answer.will_close:
                self._drop(key)
            return RawResponse(answer.status, answer.headers.get("content-type", ""), answer.body, url, answer.reason)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close every connection this transport opened, in every thread."""
        self.closed = True
        with self._lock:
            conns = list(self._all)
            self._all.clear()
        for conn in conns:
            conn.close()

    def _connection(self, key: _Key, request: RawRequest) -> Tuple[HttpConnection, bool]:
        pool: Dict[_Key, HttpConnection] = self._local.__dict__.setdefault("pool", {})
        conn = pool.get(key)
        if conn is not None and not conn.dropped():
            return conn, True
        if conn is not None:
            conn.close()
        scheme, host, port = key
        conn = HttpConnection(host, port, self._context() if scheme == "https" else None)
        try:
            conn.connect(max(0.001, min(request.connect_timeout, request.deadline - time.monotonic())))
        except OSError as exc:
            raise ConductorConnectionError(
                f"cannot connect to {scheme}://{host}:{port}: {type(exc).__name__}: {exc}", url=f"{scheme}://{host}"
            ) from exc
        pool[key] = conn
        with self._lock:
            self._all.add(conn)
        return conn, False

    def _drop(self, key: _Key) -> None:
        conn = self._local.__dict__.get("pool", {}).pop(key, None)
        if conn is not None:
            conn.close()

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = tls_context(self.verify)
        return self._ssl


_Key = Tuple[str, str, int]


@functools.lru_cache(maxsize=256)
def _split(url: str) -> Tuple[_Key, str]:
    """(scheme, host, port) and the request target of a URL; cached, as a worker sends the same few URLs."""
    parts = urlsplit(url)
    key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    return key, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def tls_context(verify: Verify) -> ssl.SSLContext:
    """The TLS context for ``verify``: the same trust as requests (certifi's bundle unless a CA bundle file or
    directory is given), or no verification for ``False``."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    where = verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH
    if os.path.isdir(where):
        return ssl.create_default_context(capath=where)
    return ssl.create_default_context(cafile=where)


class RequestsTransport:
    """Through ``requests`` (proxies). A hand-built PreparedRequest skips its per-call settings merge; the body
    is streamed so the deadline holds for it too (a trickle of headers is bounded by the read timeout)."""

    def __init__(self, verify: Verify, proxies: Dict[str, str]) -> None:
        self.verify = verify
        self.proxies = proxies
        self.closed = False
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=_POOL_SIZE, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # Proxies and CA bundles are read once per transport, not on every request: requests' per-request
        # environment scan costs about half a millisecond of CPU per call.
        self.session.trust_env = False

    def send(self, request: RawRequest) -> RawResponse:
        method, url = request.method, request.url
        if self.closed:
            raise ConductorConnectionError(f"{method} {url}: the transport is closed", url=url)
        prepared = requests.PreparedRequest()
        prepared.method = method
        prepared.url = url
        prepared.headers = CaseInsensitiveDict(request.headers)
        prepared.body = request.body
        prepared.hooks = {"response": []}
        try:
            response = self.session.send(
                prepared,
                timeout=(request.connect_timeout, request.read_timeout),
                verify=self.verify,
                proxies=self.proxies,
                allow_redirects=False,
                stream=True,
            )
            chunks = []
            with response:
                for chunk in response.iter_content(_CHUNK):
                    chunks.append(chunk)
                    if time.monotonic() > request.deadline:
                        raise _past_deadline(request)
        except requests.RequestException as exc:
            raise ConductorConnectionError(f"{method} {url}: {type(exc).__name__}: {exc}", url=url) from exc
        return RawResponse(
            response.status_code, response.headers.get("Content-Type", ""), b"".join(chunks), url, response.reason
        )

    def close(self) -> None:
        self.closed = True
        self.session.close()


def make_transport(server_api_url: str, verify: Any, transport: str) -> Transport:
    """The transport for a configuration: requests when a proxy applies or is asked for, else the stdlib."""
    if verify is True:
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    proxies = dict(requests.utils.get_environ_proxies(server_api_url))
    if transport == "requests" or requests.utils.select_proxy(server_api_url, proxies):
        return RequestsTransport(verify, proxies)
    return StdlibTransport(verify)
