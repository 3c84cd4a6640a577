"""An HTTP-aware fault proxy on 127.0.0.1: it forwards requests to a real server one at a time and, for the
requests a rule picks, misbehaves the way broken servers and middleboxes do.

Faults (each applies to one request, chosen by ``rule(method, path)``):

- :class:`Answer`: answer it without forwarding (a 200 web page, a non-JSON body...);
- :class:`Trickle`: forward it, then send the real answer a few bytes at a time;
- :class:`DropAfterForward`: forward it (the server acts on it), then close the client's connection unanswered;
- :class:`RewriteJson`: forward it and pass the JSON answer through a function (a task without its id...).

Only what the tests need: HTTP/1.1 with Content-Length bodies (the embedded server always sends one).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


@dataclass
class Trickle:
    step_bytes: int = 4
    step_seconds: float = 0.25


@dataclass
class DropAfterForward:
    pass


@dataclass
class RewriteJson:
    change: Callable[[Any], Any]


Fault = Union[Answer, Trickle, DropAfterForward, RewriteJson]
Rule = Callable[[str, str], Optional[Fault]]


@dataclass
class _Message:
    head: bytes
    body: bytes
    headers: Dict[str, str] = field(default_factory=dict)


def _read_message(reader: Any, is_response: bool, method: str = "") -> Optional[_Message]:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline(65537)
        if not line:
            return None
        head += line
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    status_no_body = is_response and (lines[0].split(" ")[1] in ("204", "304") or method == "HEAD")
    body = b"" if status_no_body else reader.read(length)
    return _Message(head, body, headers)


class HttpFaultProxy:
    def __init__(self, target: Tuple[str, int], rule: Rule) -> None:
        self.target = target
        self.rule = rule
        self.requests: List[Tuple[str, str]] = []  # (method, path) of every request seen, in order
        self.faults_applied = 0
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(32)
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._closed = False
        self._conns: List[socket.socket] = []

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def __enter__(self) -> HttpFaultProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target, timeout=30)
        with self._lock:
            self._conns.append(upstream)
        client_reader = client.makefile("rb")
        upstream_reader = upstream.makefile("rb")
        try:
            while True:
                request = _read_message(client_reader, False)
                if request is None:
                    return
                method, target = request.head.decode("latin-1").split(" ")[:2]
                path = target.split("?", 1)[0]
                with self._lock:
                    self.requests.append((method, path))
                fault = self.rule(method, path)
                if fault is not None:
                    with self._lock:
                        self.faults_applied += 1
                if isinstance(fault, Answer):
                    client.sendall(
                        f"HTTP/1.1 {fault.status} X\r\nContent-Type: {fault.content_type}\r\n"
                        f"Content-Length: {len(fault.body)}\r\n\r\n".encode()
                        + fault.body
                    )
                    continue
                upstream.sendall(request.head + request.body)
                response = _read_message(upstream_reader, True, method)
                if response is None:
                    return
                if isinstance(fault, DropAfterForward):
                    return  # the server acted on it; the client gets no answer
                raw = response.head + response.body
                if isinstance(fault, RewriteJson):
                    body = json.dumps(fault.change(json.loads(response.body))).encode()
                    head = response.head.decode("latin-1").replace(
                        f"Content-Length: {len(response.body)}", f"Content-Length: {len(body)}"
                    )
                    raw = head.encode("latin-1") + body
                if isinstance(fault, Trickle):
                    for i in range(0, len(raw), fault.step_bytes):
                        client.sendall(raw[i : i + fault.step_bytes])
                        time.sleep(fault.step_seconds)
                    continue
                client.sendall(raw)
        except OSError:
            return
        finally:
            for sock in (client, upstream):
                try:
                    sock.close()
                except OSError:
                    pass
