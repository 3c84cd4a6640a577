"""One HTTP/1.1 keep-alive connection on a plain or TLS socket: what :class:`StdlibTransport` sends through.

Why not ``http.client``: a worker's CPU goes mostly into its two calls (poll, update), and measured here one
round trip through ``http.client`` costs about 200 us of client CPU, most of it in parsing the answer's headers
with the ``email`` package, against about 40 us for reading them here. What this implements is the part of
HTTP/1.1 (RFC 9112) a client of a JSON API meets:

- the request goes out in one write (head and body together);
- interim 1xx answers are skipped; a body is framed by ``Transfer-Encoding: chunked``, by ``Content-Length``,
  or by the connection's end; HEAD, 204 and 304 answers have none;
- the connection is kept open unless the server says ``Connection: close`` (or speaks HTTP/1.0 without
  ``keep-alive``) or the body ran to the connection's end;
- every read stops at the request's deadline, however slowly bytes arrive;
- a head larger than 64 KiB, or more than 100 header lines, is a protocol error, not an unbounded read.

Failures come out as three kinds, because the transport's resend rule needs to tell them apart:
:class:`WriteFailed` (the request was not sent whole), :class:`NoAnswer` (it was sent, and the connection ended
before any byte of an answer) and everything else (``OSError``, ``TimeoutError``, :class:`ProtocolError`).
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

_RECV = 65536
MAX_HEAD = 65536
MAX_HEADER_LINES = 100
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.x as this client reads it."""


class WriteFailed(OSError):
    """The connection failed while the request was being written: the server did not get it whole."""


class NoAnswer(ConnectionError):
    """The request was written, then the connection ended before any byte of an answer came back."""


@dataclass
class Answer:
    status: int
    reason: str
    headers: Dict[str, str]  # lower-case names; repeated fields joined with ", "
    body: bytes
    will_close: bool


class HttpConnection:
    """A keep-alive connection to one ``host:port``, for one thread at a time."""

    def __init__(self, host: str, port: int, tls: Optional[ssl.SSLContext] = None) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        default_port = 443 if tls is not None else 80
        name = f"[{host}]" if ":" in host else host
        self._host_header = name if port == default_port else f"{name}:{port}"
        self.sock: Optional[socket.socket] = None
        self._buf = b""

    # -- the connection ------------------------------------------------------------------------------------
    def connect(self, timeout: float) -> None:
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self._buf = b""

    def close(self) -> None:
        """Close the socket; a request blocked on it in another thread fails at once instead of at its timeout."""
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # never connected, or already reset
            sock.close()

    def dropped(self) -> bool:
        """True when the idle connection cannot be used again: closed here, or the server closed it (it became
        readable while no request was out: an EOF or stray bytes)."""
        sock = self.sock
        if sock is None or self._buf:
            return True
        try:
            if hasattr(select, "poll"):  # poll, unlike select, works for any file descriptor number
                poller = select.poll()
                poller.register(sock, select.POLLIN)
                return bool(poller.poll(0))
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable)
        except (OSError, ValueError):
            return True

    # -- one exchange --------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        target: str,
        headers: Dict[str, str],
        body: Optional[bytes],
        deadline: float,
        read_timeout: float,
    ) -> Answer:
        """Send one request and read its whole answer. The caller closes the connection after any exception."""
        sock = self.sock
        if sock is None:
            raise WriteFailed("the connection is closed")
        data = _head(method, target, self._host_header, headers)
        if body:
            data += body
        try:
            sock.settimeout(_timeout(deadline, read_timeout))
            sock.sendall(data)
        except (TimeoutError, socket.timeout):
            raise
        except OSError as exc:
            raise WriteFailed(f"{type(exc).__name__}: {exc}") from exc
        reader = _Reader(sock, self._buf, deadline, read_timeout)
        try:
            answer = _read_answer(reader, method)
        except ConnectionResetError as exc:
            if reader.received:
                raise
            raise NoAnswer(f"{type(exc).__name__}: {exc}") from exc
        self._buf = reader.rest()
        return answer


def _timeout(deadline: float, read_timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("request deadline passed")
    return min(read_timeout, left)


def _head(method: str, target: str, host: str, headers: Dict[str, str]) -> bytes:
    if _BAD_TARGET.search(target):
        raise ValueError("the request path holds a space or a control character")
    lines = [f"{method} {target} HTTP/1.1"]
    given = {name.lower() for name in headers}
    if "host" not in given:
        lines.append(f"Host: {host}")
    if "accept-encoding" not in given:
        lines.append("Accept-Encoding: identity")  # no compressed answers: this client does not decode them
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    text = "\r\n".join(lines)
    breaks = len(lines) - 1  # a line break anywhere else would smuggle a header or a request in
    if text.count("\n") != breaks or text.count("\r") != breaks or "\x00" in text:
        raise ValueError("a header name or value holds a line break")
    return (text + "\r\n\r\n").encode("latin-1")


class _Reader:
    """Bytes from the socket, each read bounded by the request's deadline."""

    def __init__(self, sock: socket.socket, buffered: bytes, deadline: float, read_timeout: float) -> None:
        self._sock = sock
        self._buf = bytearray(buffered)
        self._pos = 0
        self._deadline = deadline
        self._read_timeout = read_timeout
        self.received = bool(buffered)

    def _more(self) -> bool:
        """Read once more; False at the connection's end."""
        self._sock.settimeout(_timeout(self._deadline, self._read_timeout))
        chunk = self._sock.recv(_RECV)
        if not chunk:
            return False
        self.received = True
        if self._pos and self._pos * 2 >= len(self._buf):  # drop what was consumed, now and then
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += chunk
        return True

    def _take(self, end: int, skip: int) -> bytes:
        if skip and end - self._pos > MAX_HEAD:  # a head or a line, not a body
            raise ProtocolError(f"a head or line of the answer is longer than {MAX_HEAD} bytes")
        data = bytes(self._buf[self._pos : end])
        self._pos = end + skip
        return data

    def head(self) -> Optional[bytes]:
        """Everything up to the blank line that ends a head; None if the connection ended before any byte."""
        while True:
            end = self._buf.find(b"\r\n\r\n", self._pos)
            if end >= 0:
                return self._take(end, 4)
            end = self._buf.find(b"\n\n", self._pos)
            if end >= 0:  # bare line feeds, which HTTP/1.1 readers accept
                return self._take(end, 2)
            if len(self._buf) - self._pos > MAX_HEAD:
                raise ProtocolError(f"the answer's headers are longer than {MAX_HEAD} bytes")
            if not self._more():
                if len(self._buf) == self._pos:
                    return None
                raise ProtocolError("the connection ended in the middle of the answer's headers")

    def line(self) -> bytes:
        while True:
            end = self._buf.find(b"\n", self._pos)
            if end >= 0:
                return self._take(end, 1).rstrip(b"\r")
            if len(self._buf) - self._pos > MAX_HEAD:
                raise ProtocolError("a line of the chunked answer is too long")
            if not self._more():
                raise ProtocolError("the connection ended in the middle of a chunked answer")

    def exactly(self, size: int) -> bytes:
        while len(self._buf) - self._pos < size:
            if not self._more():
                missing = size - (len(self._buf) - self._pos)
                raise ProtocolError(f"the connection ended {missing} bytes before the end of the answer")
        return self._take(self._pos + size, 0)

    def to_end(self) -> bytes:
        while self._more():
            pass
        return self._take(len(self._buf), 0)

    def rest(self) -> bytes:
        return bytes(self._buf[self._pos :])


def _read_answer(reader: _Reader, method: str) -> Answer:
    while True:
        head = reader.head()
        if head is None:
            raise NoAnswer("the server closed the connection without answering")
        version, status, reason, headers = _parse_head(head)
        if 100 <= status < 200:
            if status == 101:
                raise ProtocolError("the server switched protocols, which this client never asks for")
            continue  # 100 Continue, 103 Early Hints: the real answer follows
        break
    connection = headers.get("connection", "").lower()
    will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
    if method == "HEAD" or status in (204, 304):
        return Answer(status, reason, headers, b"", will_close)
    coding = headers.get("transfer-encoding")
    if coding is not None:
        if coding.lower().rsplit(",", 1)[-1].strip() == "chunked":
            return Answer(status, reason, headers, _chunked(reader), will_close)
        return Answer(status, reason, headers, reader.to_end(), True)
    length = headers.get("content-length")
    if length is not None:
        return Answer(status, reason, headers, reader.exactly(_content_length(length)), will_close)
    return Answer(status, reason, headers, reader.to_end(), True)


def _parse_head(head: bytes) -> Tuple[str, int, str, Dict[str, str]]:
    text = head.decode("latin-1")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    if len(lines) > MAX_HEADER_LINES + 1:
        raise ProtocolError(f"the answer has more than {MAX_HEADER_LINES} header lines")
    parts = lines[0].rstrip("\r").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or len(parts[1]) != 3 or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: Dict[str, str] = {}
    last = ""
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep and name and name[0] not in " \t" and name[-1] not in " \t":
            last = name.lower()
            value = value.strip()
            previous = headers.get(last)
            headers[last] = value if previous is None else f"{previous}, {value}"
        elif line[:1] in (" ", "\t") and last:  # an obsolete folded continuation of the previous field
            headers[last] = f"{headers[last]} {line.strip()}"
        elif line.strip():
            raise ProtocolError(f"malformed header line in the answer: {line[:80]!r}")
    return parts[0], int(parts[1]), parts[2].rstrip("\r") if len(parts) > 2 else "", headers


def _content_length(value: str) -> int:
    if value.isdigit():
        return int(value)
    values = {v.strip() for v in value.split(",")}  # the same length repeated is allowed (RFC 9110 8.6)
    if len(values) != 1:
        raise ProtocolError(f"conflicting Content-Length values: {value[:80]!r}")
    length = values.pop()
    if not length.isdigit():
        raise ProtocolError(f"invalid Content-Length: {length[:80]!r}")
    return int(length)


def _chunked(reader: _Reader) -> bytes:
    parts: List[bytes] = []
    while True:
        size_line = reader.line().split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise ProtocolError(f"invalid chunk size in the answer: {size_line[:40]!r}") from None
        if size < 0:
            raise ProtocolError("negative chunk size in the answer")
        if size == 0:
            while reader.line():  # trailer fields, up to the blank line
                pass
            return b"".join(parts)
        parts.append(reader.exactly(size))
        if reader.line():
            raise ProtocolError("a chunk of the answer does not end where its size says")
