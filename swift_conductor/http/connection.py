"""The two ways a request leaves this process. Both return a :class:`RawResponse` or raise
:class:`ConductorConnectionError`.

- :class:`StdlibSender`: ``http.client`` keep-alive connections, one per thread and server. The default: a poll
  or an update costs about a third of the CPU it costs through ``requests`` (0.11 vs 0.35 ms measured here),
  and a worker spends most of its CPU on those two calls.
- :class:`RequestsSender`: one pooled ``requests.Session`` per process, used when a proxy from the environment
  applies to the server URL (``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY``, minus ``NO_PROXY``), or when
  ``Configuration(transport="requests")`` asks for it.

Both trust the same certificates: certifi's bundle (as requests does), or the CA bundle file or directory given.

Neither is carried across a fork or spawn: each process and thread makes its own on first use.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple, Union
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from .errors import ConductorConnectionError

_POOL_SIZE = 32


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


Verify = Union[bool, str]


class StdlibSender:
    """Keep-alive ``http.client`` connections, one per (thread, scheme, host, port)."""

    def __init__(self, verify: Verify) -> None:
        self.verify = verify
        self._local = threading.local()
        self._ssl: Optional[ssl.SSLContext] = None

    def send(
        self, method: str, url: str, headers: Dict[str, str], body: Optional[bytes], timeout: Tuple[float, float]
    ) -> RawResponse:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        for attempt in (1, 2):
            conn, reused = self._connection(key, timeout[0])
            try:
                conn.sock.settimeout(timeout[1])
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                self._drop(key)
                if reused and attempt == 1:
                    continue  # the server closed an idle keep-alive connection just as we reused it
                raise ConductorConnectionError(f"{method} {url}: {type(exc).__name__}: {exc}", url=url) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(key)
                raise ConductorConnectionError(f"{method} {url}: {type(exc).__name__}: {exc}", url=url) from exc
            except (ValueError, UnicodeError) as exc:  # http.client refused a header or path; never echo values
                self._drop(key)
                raise ConductorConnectionError(
                    f"{method} {url}: invalid request ({type(exc).__name__})", url=url
                ) from None
            except BaseException:
                self._drop(key)  # a half-used connection must not be reused
                raise
            if response.will_close:
                self._drop(key)
            return RawResponse(response.status, response.getheader("Content-Type", ""), data, url, response.reason)
        raise AssertionError("unreachable")

    def _connection(self, key: Tuple[str, str, int], connect_timeout: float) -> Tuple[http.client.HTTPConnection, bool]:
        pool: Dict[Tuple[str, str, int], http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        conn = pool.get(key)
        if conn is not None and conn.sock is not None and not _dropped(conn.sock):
            return conn, True
        if conn is not None:
            conn.close()
        scheme, host, port = key
        try:
            if scheme == "https":
                conn = http.client.HTTPSConnection(host, port, timeout=connect_timeout, context=self._context())
            else:
                conn = http.client.HTTPConnection(host, port, timeout=connect_timeout)
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            raise ConductorConnectionError(
                f"cannot connect to {scheme}://{host}:{port}: {type(exc).__name__}: {exc}", url=f"{scheme}://{host}"
            ) from exc
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pool[key] = conn
        return conn, False

    def _drop(self, key: Tuple[str, str, int]) -> None:
        conn = self._local.__dict__.get("pool", {}).pop(key, None)
        if conn is not None:
            conn.close()

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = tls_context(self.verify)
        return self._ssl


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


def _dropped(sock: socket.socket) -> bool:
    """True when an idle connection was closed by the server (it became readable: EOF or stray bytes)."""
    try:
        if hasattr(select, "poll"):  # poll, unlike select, works for any file descriptor number
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


_session_lock = threading.Lock()
_session: Optional[Tuple[int, requests.Session]] = None


def shared_session() -> requests.Session:
    """This process's ``requests`` session, made on first use (and anew in a child process)."""
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
            # Proxies and CA bundles are read once per client (see ApiClient), not on every request:
            # requests' per-request environment scan costs about half a millisecond of CPU per call.
            session.trust_env = False
            _session = (pid, session)
        return _session[1]


class RequestsSender:
    """Through ``requests`` (proxies): a hand-built PreparedRequest skips its per-call settings merge."""

    def __init__(self, verify: Verify, proxies: Dict[str, str]) -> None:
        self.verify = verify
        self.proxies = proxies

    def send(
        self, method: str, url: str, headers: Dict[str, str], body: Optional[bytes], timeout: Tuple[float, float]
    ) -> RawResponse:
        request = requests.PreparedRequest()
        request.method = method
        request.url = url
        request.headers = CaseInsensitiveDict(headers)
        request.body = body
        request.hooks = {"response": []}
        try:
            response = shared_session().send(
                request, timeout=timeout, verify=self.verify, proxies=self.proxies, allow_redirects=False
            )
        except requests.RequestException as exc:
            raise ConductorConnectionError(f"{method} {url}: {type(exc).__name__}: {exc}", url=url) from exc
        return RawResponse(
            response.status_code, response.headers.get("Content-Type", ""), response.content, url, response.reason
        )


Sender = Union[StdlibSender, RequestsSender]


def make_sender(server_api_url: str, verify: Any, transport: str) -> Sender:
    """The sender for a configuration: requests when a proxy applies or is asked for, else the stdlib."""
    if verify is True:
        verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    proxies = dict(requests.utils.get_environ_proxies(server_api_url))
    if transport == "requests" or requests.utils.select_proxy(server_api_url, proxies):
        return RequestsSender(verify, proxies)
    return StdlibSender(verify)
