"""The HTTP/1.1 connection under the default transport, against a socket server on 127.0.0.1 that answers with
exactly the bytes each test scripts: the framings real servers and proxies use, and the broken answers a client
must turn into a clear error instead of a hang or a wrong body."""

from __future__ import annotations

import socket
import threading
from typing import Callable, Iterator, List, Optional, Union

import pytest

from swift_conductor.errors import ConductorConnectionError
from swift_conductor.http.transports import RawRequest, RawResponse, StdlibTransport


class Cut(bytes):
    """Answer with these bytes, then close the connection."""


Script = Union[bytes, Cut, None]  # the bytes to answer a request with; None: close the connection unanswered


class ScriptedServer:
    """Answers the n-th request with the n-th script entry, on whichever connection it came."""

    def __init__(self, answers: List[Script]) -> None:
        self.answers = list(answers)
        self.requests: List[bytes] = []
        self.connections = 0
        self._conn: Optional[socket.socket] = None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(10)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            self._conn = conn
            with conn:
                conn.settimeout(10)
                while self.answers and self._one(conn):
                    pass

    def _one(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        while len(body) < length:
            body += conn.recv(65536)
        self.requests.append(head)
        answer = self.answers.pop(0)
        if answer is None:
            return False
        conn.sendall(answer)
        return not isinstance(answer, Cut) and b"connection: close" not in answer.lower() and answer[:8] != b"HTTP/1.0"

    def close(self) -> None:
        self.answers.clear()
        for sock in (self._listener, self._conn):  # wakes the thread in accept() or recv()
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._listener.close()
        self._thread.join(10)


Serve = Callable[..., "ScriptedServer"]


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: List[ScriptedServer] = []

    def start(*answers: Script) -> ScriptedServer:
        server = ScriptedServer(list(answers))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def get(
    transport: StdlibTransport, server: ScriptedServer, method: str = "GET", idempotent: bool = False
) -> RawResponse:
    url = f"http://127.0.0.1:{server.port}/api/x"
    return transport.send(RawRequest(method, url, {"Accept": "application/json"}, None, 5, 5, idempotent))


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s" % (
        len(body),
        extra,
        body,
    )


def test_keep_alive_answers_reuse_one_connection(serve: Serve) -> None:
    server = serve(ok(b'{"a":1}'), ok(b'{"a":2}'))
    transport = StdlibTransport(True)
    assert get(transport, server).body == b'{"a":1}'
    assert get(transport, server).body == b'{"a":2}'
    assert server.connections == 1
    assert server.requests[0].startswith(b"GET /api/x HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:%d\r\n" % server.port in server.requests[0]


def test_a_chunked_answer_with_extensions_and_trailers(serve: Serve) -> None:
    chunked = (
        b"HTTP/1.1 200 \r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;ext=1\r\n{"a"\r\n9\r\n:[1,2,3]}\r\n0\r\nX-Trailer: yes\r\n\r\n'
    )
    server = serve(chunked, ok(b"{}"))
    transport = StdlibTransport(True)
    answer = get(transport, server)
    assert (answer.status, answer.body, answer.content_type) == (200, b'{"a":[1,2,3]}', "application/json")
    assert get(transport, server).body == b"{}"  # the trailer was read to its end: the connection stays usable
    assert server.connections == 1


def test_interim_answers_are_skipped(serve: Serve) -> None:
    server = serve(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n" + ok(b"[]"))
    assert get(StdlibTransport(True), server).body == b"[]"


def test_bare_line_feeds_and_folded_headers_are_read(serve: Serve) -> None:
    server = serve(b"HTTP/1.1 404 Not Found\nContent-Type: text/plain;\n charset=utf-8\nContent-Length: 4\n\nnope")
    answer = get(StdlibTransport(True), server)
    assert (answer.status, answer.reason, answer.body) == (404, "Not Found", b"nope")
    assert answer.content_type == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    "first",
    [
        b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[1]",  # no length: the body ends with the connection
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\n[1]",
    ],
    ids=["http-1.0-to-the-end", "connection-close"],
)
def test_an_answer_that_ends_the_connection_is_not_reused(serve: Serve, first: bytes) -> None:
    server = serve(first, ok(b"[2]"))
    transport = StdlibTransport(True)
    assert get(transport, server).body == b"[1]"
    assert get(transport, server).body == b"[2]"
    assert server.connections == 2


def test_answers_without_a_body(serve: Serve) -> None:
    server = serve(b"HTTP/1.1 204 No Content\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", ok(b"[3]"))
    transport = StdlibTransport(True)
    assert (get(transport, server).status, get(transport, server, "HEAD").body) == (204, b"")
    assert get(transport, server).body == b"[3]"
    assert server.connections == 1


def test_stray_bytes_after_an_answer_retire_the_connection(serve: Serve) -> None:
    server = serve(ok(b"[1]") + b"junk", ok(b"[2]"))
    transport = StdlibTransport(True)
    assert get(transport, server).body == b"[1]"
    assert get(transport, server).body == b"[2]"
    assert server.connections == 2


@pytest.mark.parametrize(
    "answer, message",
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n[1]]", "conflicting Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n", "invalid Content-Length"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header line"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1]]\r\n0\r\n\r\n", "does not end where"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched protocols"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n", "longer than 65536 bytes"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 101 + b"\r\n", "more than 100 header lines"),
    ],
    ids=[
        "not-http",
        "two-lengths",
        "negative-length",
        "no-colon",
        "bad-chunk",
        "long-chunk",
        "101",
        "huge-head",
        "many",
    ],
)
def test_a_malformed_answer_is_a_clear_connection_error(serve: Serve, answer: bytes, message: str) -> None:
    server = serve(answer)
    with pytest.raises(ConductorConnectionError, match=message) as err:
        get(StdlibTransport(True), server)
    assert err.value.retryable


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n[1]",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[1]",
        b"HTTP/1.1 200 OK\r\nContent-Le",
    ],
    ids=["short-body", "short-chunk", "short-head"],
)
def test_an_answer_cut_short_is_an_error_not_a_short_body(serve: Serve, answer: bytes) -> None:
    server = serve(Cut(answer))
    with pytest.raises(ConductorConnectionError, match="ended"):
        get(StdlibTransport(True), server, idempotent=True)
    assert server.connections == 1  # an answer that began is never sent again, even for an idempotent request


@pytest.mark.parametrize("idempotent, sent", [(True, 3), (False, 2)])
def test_a_reused_connection_closed_unanswered_is_resent_only_when_idempotent(
    serve: Serve, idempotent: bool, sent: int
) -> None:
    server = serve(ok(b"[1]"), None, ok(b"[2]"))
    transport = StdlibTransport(True)
    assert get(transport, server).body == b"[1]"
    if idempotent:
        assert get(transport, server, idempotent=True).body == b"[2]"
    else:
        with pytest.raises(ConductorConnectionError, match="closed the connection without answering"):
            get(transport, server, idempotent=False)
    assert len(server.requests) == sent


def test_a_header_with_a_line_break_is_refused_before_anything_is_sent(serve: Serve) -> None:
    server = serve(ok(b"[1]"))
    url = f"http://127.0.0.1:{server.port}/api/x"
    smuggled = RawRequest("GET", url, {"X-Id": "1\r\nX-Admin: yes"}, None, 5, 5)
    with pytest.raises(ConductorConnectionError, match=r"invalid request \(ValueError\)") as err:
        StdlibTransport(True).send(smuggled)
    assert "X-Admin" not in str(err.value)  # values are never echoed: they may hold secrets
    assert server.requests == []
