"""The HTTP/1.1 front end: a ThreadingHTTPServer whose handler parses requests itself.

BaseHTTPRequestHandler's own parsing (email.parser for headers, per-line writes) costs more than the
engine does per request; this handler keeps the stdlib server and socket handling but reads the
request line and headers directly, and writes each response with one ``sendall``. Connections are
kept alive (clients pool them) and every response carries Content-Length.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Set, Tuple

from .routes import Api

logger = logging.getLogger("swift_conductor.devserver")

_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
}
_MAX_LINE = 65536
MAX_BODY = 32 * 1024 * 1024  # a larger request body is refused with a 400
_MAX_HEADERS = 200


class _BadRequest(Exception):
    pass


class RequestHandler(BaseHTTPRequestHandler):
    """Serves requests on one connection until the client closes it or asks to."""

    server: DevHTTPServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections are dropped after this many seconds

    def handle(self) -> None:
        self.server.track(self.connection, True)
        try:
            while self._handle_one():
                pass
        except (ConnectionError, socket.timeout, OSError):
            pass
        finally:
            self.server.track(self.connection, False)

    def _handle_one(self) -> bool:
        rfile = self.rfile
        line = rfile.readline(_MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):
            line = rfile.readline(_MAX_LINE + 1)
        if not line:
            return False
        try:
            method, target, version = self._parse_request_line(line)
            headers = self._read_headers()
            body = self._read_body(headers)
        except (_BadRequest, ValueError, MemoryError, OverflowError) as exc:
            if not isinstance(exc, _BadRequest):
                exc = _BadRequest("malformed request")
            self._send(
                400,
                "application/json",
                json.dumps({"status": 400, "message": str(exc), "retryable": False}).encode(),
                False,
            )
            return False
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
        status, content_type, payload = self.server.api.dispatch(method, target, headers.get("content-type"), body)
        self._send(status, content_type, payload if method != "HEAD" else b"", keep_alive)
        return keep_alive

    @staticmethod
    def _parse_request_line(line: bytes) -> Tuple[str, str, str]:
        if len(line) > _MAX_LINE:
            raise _BadRequest("request line too long")
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _BadRequest("malformed request line")
        return parts[0], parts[1], parts[2]

    def _read_headers(self) -> Dict[str, str]:
        headers: Dict[str, str] = {}
        rfile = self.rfile
        for _ in range(_MAX_HEADERS):
            line = rfile.readline(_MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise _BadRequest("malformed header line")
            key, value = name.strip().lower(), value.strip()
            if key == "content-length" and key in headers and headers[key] != value:
                raise _BadRequest("conflicting Content-Length headers")  # a request smuggling shape
            headers[key] = value
        raise _BadRequest("too many headers")

    def _read_body(self, headers: Dict[str, str]) -> bytes:
        if headers.get("expect", "").lower() == "100-continue":
            self.connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        raw = headers.get("content-length")
        if not raw:
            return b""
        try:
            length = int(raw)
        except ValueError:
            raise _BadRequest("bad Content-Length") from None
        if length < 0:
            raise _BadRequest("bad Content-Length")
        if length > MAX_BODY:
            raise _BadRequest(f"request body over {MAX_BODY} bytes")
        body = self.rfile.read(length)
        if len(body) != length:
            raise ConnectionError("client closed mid-body")
        return body

    def _read_chunked(self) -> bytes:
        chunks: List[bytes] = []
        rfile = self.rfile
        while True:
            size_line = rfile.readline(_MAX_LINE + 1)
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise _BadRequest("bad chunk size") from None
            if size < 0 or size + sum(map(len, chunks)) > MAX_BODY:
                raise _BadRequest("bad chunk size")
            if size == 0:
                while rfile.readline(_MAX_LINE + 1) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(rfile.read(size))
            rfile.readline(_MAX_LINE + 1)

    def _send(self, status: int, content_type: Optional[str], body: bytes, keep_alive: bool) -> None:
        head = f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
        if content_type is not None:
            head += f"Content-Type: {content_type}\r\n"
        if status != 204:
            head += f"Content-Length: {len(body)}\r\n"
        if not keep_alive:
            head += "Connection: close\r\n"
        self.connection.sendall(head.encode("latin-1") + b"\r\n" + body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s - " + format, self.address_string(), *args)


class DevHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its open connections, so ``stop()`` can close idle keep-alives."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: Tuple[str, int], api: Api) -> None:
        super().__init__(address, RequestHandler)
        self.api = api
        self._connections: Set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: object, client_address: object) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)
