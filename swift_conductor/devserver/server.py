"""EmbeddedServer: the engine, its HTTP front end and its timeout sweeper, started in background threads."""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import List, Optional, Type

from .http import DevHTTPServer
from .routes import Api
from .state import Engine

logger = logging.getLogger("swift_conductor.devserver")

#: How often response timeouts are checked (the real server's sweeper is far lazier: ~60 s in memory mode).
SWEEP_INTERVAL_SECONDS = 0.2


class EmbeddedServer:
    """A Conductor-compatible server in this process, state in memory.

    ``port=0`` picks a free port. Binds 127.0.0.1 unless told otherwise. Use as a context manager or call
    ``start()``/``stop()``; ``url`` is the root (``/health``), ``api_url`` the base clients need.
    ``time_control=True`` lets tests move the server's clock with ``advance(seconds)`` (and over HTTP with
    ``POST /api/test/clock/advance?seconds=N``); it is off by default so a shared server's time cannot jump.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", *, time_control: bool = False) -> None:
        self.host = host
        self._requested_port = port
        self.time_control = time_control
        self.engine = Engine(time_control=time_control)
        self._httpd: Optional[DevHTTPServer] = None
        self._port: Optional[int] = None
        self._threads: List[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        """The bound port (kept after ``stop()`` so URLs stay printable)."""
        if self._port is None:
            raise RuntimeError("EmbeddedServer is not started")
        return self._port

    @property
    def url(self) -> str:
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    def start(self) -> EmbeddedServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self.engine.open()
        self._httpd = DevHTTPServer((self.host, self._requested_port), Api(self.engine))
        self._port = int(self._httpd.server_address[1])
        serve = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="swift-conductor-devserver-http",
            daemon=True,
        )
        sweep = threading.Thread(target=self._sweep, name="swift-conductor-devserver-sweeper", daemon=True)
        self._threads = [serve, sweep]
        for thread in self._threads:
            thread.start()
        logger.info("devserver listening on %s", self.api_url)
        return self

    def stop(self) -> None:
        httpd = self._httpd
        if httpd is None:
            return
        self._stopping.set()
        self.engine.close()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        self._httpd = None
        logger.info("devserver stopped")

    def advance(self, seconds: float) -> None:
        """Move the server clock forward by ``seconds``: retry delays, callbacks, response timeouts and waits
        that fall due in that span happen at once. RuntimeError unless started with ``time_control=True``."""
        self.engine.advance(seconds)

    def _sweep(self) -> None:
        while not self._stopping.wait(SWEEP_INTERVAL_SECONDS):
            try:
                self.engine.sweep()
            except Exception:  # keep sweeping; one bad task must not stop timeouts for everyone
                logger.exception("timeout sweep failed")

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()
