"""Where the server is and how to talk to it. A plain, picklable object: it crosses into spawned processes."""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

DEFAULT_SERVER_API_URL = "http://localhost:8080/api"
DIALECTS = ("auto", "tasks", "task")
TRANSPORTS = ("auto", "requests")
_SECRET_HEADER_WORDS = ("auth", "token", "key", "secret", "cookie", "password")

logger = logging.getLogger("swift_conductor")


class Configuration:
    """Connection settings shared by every client and worker process.

    ``server_api_url`` is the API root (``http://host:8080/api``); ``base_url`` is the server root and gets
    ``/api`` appended. With neither, ``CONDUCTOR_SERVER_URL`` is read, then ``http://localhost:8080/api``.

    ``dialect`` picks the API paths: ``"tasks"`` (Netflix Conductor and Conductor OSS: ``/api/tasks``,
    ``/api/metadata/taskdefs``, ``/api/metadata/workflow``), ``"task"`` (Swift Conductor 3.16: ``/api/task``,
    ``/api/metadata/taskdef``, ``/api/metadata/workflowdef``) or ``"auto"`` (asks the server once).

    ``transport="auto"`` sends through the standard library's keep-alive connections (cheapest per call) unless an
    HTTP(S) proxy from the environment applies to the server URL, then through ``requests``; ``"requests"``
    always uses ``requests``.
    """

    def __init__(
        self,
        server_api_url: Optional[str] = None,
        debug: bool = False,
        *,
        base_url: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        auth_token: Optional[str] = None,
        verify_ssl: bool = True,
        ca_bundle: Optional[str] = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        dialect: str = "auto",
        transport: str = "auto",
    ) -> None:
        if server_api_url and base_url:
            raise ValueError("Configuration: give server_api_url or base_url, not both")
        if base_url:
            url = base_url.rstrip("/") + "/api"
        else:
            url = server_api_url or os.environ.get("CONDUCTOR_SERVER_URL") or DEFAULT_SERVER_API_URL
        url = url.rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"Configuration: server URL must start with http:// or https://, got {url!r}")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError as exc:
            raise ValueError(f"Configuration: bad server URL {url!r}: {exc}") from None
        if not parts.hostname or not url.isascii() or any(c.isspace() for c in url):
            raise ValueError(f"Configuration: bad server URL {url!r} (a host is required; percent-encode the path)")
        if transport not in TRANSPORTS:
            raise ValueError(f"Configuration: transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
        if dialect not in DIALECTS:
            raise ValueError(f"Configuration: dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
        for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Configuration: {name} must be a positive number of seconds, got {value!r}")
        self.server_api_url = url
        self.debug = bool(debug)
        self.headers: Dict[str, str] = dict(headers or {})
        if auth_token:
            self.headers["X-Authorization"] = auth_token
        for header, header_value in self.headers.items():
            _check_header(header, header_value)
        self.verify_ssl = verify_ssl
        self.ca_bundle = ca_bundle
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.dialect = dialect
        self.transport = transport

    @property
    def host(self) -> str:
        """The API root URL (the attribute name older clients used)."""
        return self.server_api_url

    @property
    def verify(self) -> Any:
        """What ``requests`` takes as ``verify=``: a CA bundle path, or a bool."""
        return self.ca_bundle if (self.verify_ssl and self.ca_bundle) else self.verify_ssl

    @property
    def timeout(self) -> Tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def apply_logging(self, level: Optional[int] = None) -> None:
        """Make the ``swift_conductor`` loggers visible: DEBUG with ``debug=True``, else ``level`` if given.

        Building a Configuration never touches logging; a WorkerHost sets its own up (``log_level``). Call this
        in a program that uses the clients without a host. A stderr handler is added only when nothing would
        print these records yet, so an application's own logging setup always wins; the root logger is never
        touched.
        """
        if not self.debug and level is None:
            return
        logger.setLevel(logging.DEBUG if self.debug else (level or logging.INFO))
        if not logger.hasHandlers():
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)

    def __repr__(self) -> str:
        shown = {k: ("***" if _is_secret(k) else v) for k, v in self.headers.items()}
        return (
            f"Configuration(server_api_url={self.server_api_url!r}, debug={self.debug}, "
            f"dialect={self.dialect!r}, headers={shown}, verify_ssl={self.verify_ssl}, "
            f"ca_bundle={self.ca_bundle!r}, timeout={self.timeout})"
        )


def _check_header(name: Any, value: Any) -> None:
    """Header names and values must be single-line Latin-1 text; the error never shows the value."""
    if not isinstance(name, str) or not name or any(c in name for c in ":\r\n ") or not name.isascii():
        raise ValueError(f"Configuration: bad HTTP header name {name!r}")
    if not isinstance(value, str):
        raise ValueError(f"Configuration: HTTP header {name} must be a string, got {type(value).__name__}")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"Configuration: HTTP header {name} has characters HTTP cannot carry") from None
    if "\r" in value or "\n" in value:
        raise ValueError(f"Configuration: HTTP header {name} contains a line break (a stray newline?)")


def _is_secret(header: str) -> bool:
    lowered = header.lower()
    return any(word in lowered for word in _SECRET_HEADER_WORDS)
