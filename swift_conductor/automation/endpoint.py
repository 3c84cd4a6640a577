"""The host's HTTP endpoint for probes and scrapes (off unless a port is given).

- ``GET /healthz``: liveness. 200 while every worker process is alive and its loop turns; 503 otherwise.
  A server outage does not fail it (restarting the pod would not bring the server back).
- ``GET /readyz``: readiness. 200 when every worker reached the server within the last
  ``health.READY_SILENCE_S`` seconds; 503 otherwise.
- ``GET /metrics``: Prometheus text format, when metrics are on (404 otherwise).

Bodies of the probes are the JSON health report. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Optional, Tuple

logger = logging.getLogger("swift_conductor.automation")

HTTP_PORT_ENV = "CONDUCTOR_WORKER_HTTP_PORT"
HTTP_HOST_ENV = "CONDUCTOR_WORKER_HTTP_HOST"
DEFAULT_HTTP_HOST = "127.0.0.1"


def parse_port(value: Any, source: str) -> Optional[int]:
    if value is None or value == "":
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if isinstance(value, bool) or not 0 <= port <= 65535:
        raise ValueError(f"{source}: {value!r} is not a TCP port (0..65535; 0 picks a free one)")
    return port


class Endpoint:
    def __init__(
        self,
        host: str,
        port: int,
        report: Callable[[], Dict[str, Any]],
        metrics: Optional[Callable[[], Tuple[bytes, str]]] = None,
    ) -> None:
        self.report = report
        self.metrics = metrics
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                logger.debug("probe %s", format % args)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="worker-host-http", daemon=True)

    @property
    def address(self) -> Tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()
        logger.info("probes on http://%s:%d (/healthz, /readyz%s)", *self.address, ", /metrics" if self.metrics else "")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        try:
            if path in ("/healthz", "/readyz"):
                report = self.report()
                ok = report["live"] if path == "/healthz" else report["healthy"]
                self._send(request, 200 if ok else 503, json.dumps(report).encode(), "application/json")
            elif path == "/metrics" and self.metrics is not None:
                body, content_type = self.metrics()
                self._send(request, 200, body, content_type)
            else:
                self._send(request, 404, b"not found\n", "text/plain")
        except Exception:
            logger.exception("the probe endpoint failed to answer %s", path)
            self._send(request, 500, b"internal error\n", "text/plain")

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
