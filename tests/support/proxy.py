"""A TCP proxy on 127.0.0.1 that can take the server away and bring it back: the fault a mock can't fake.

``down()`` refuses new connections and cuts open ones (clients see connection refused/reset); ``up()``
listens again on the same port.
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import List, Optional, Tuple


class FaultProxy:
    def __init__(self, target_host: str, target_port: int, tls: Optional[ssl.SSLContext] = None) -> None:
        self.target = (target_host, target_port)
        self.tls = tls  # terminate TLS here: clients speak HTTPS to the proxy, the server gets plain HTTP
        self.port = 0
        self._listener: Optional[socket.socket] = None
        self._conns: List[socket.socket] = []
        self._lock = threading.Lock()
        self.connections = 0

    def __enter__(self) -> FaultProxy:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Close the open connections (as a server does with idle keep-alives) but keep listening."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def down(self) -> None:
        """Stop listening (connection refused) and cut the open connections."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the other thread
            except OSError:
                pass
            listener.close()
        self.cut()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            if self.tls is not None:
                try:
                    client.settimeout(5)
                    client = self.tls.wrap_socket(client, server_side=True)
                    client.settimeout(None)
                except (OSError, ssl.SSLError):
                    client.close()  # e.g. the client refused our certificate
                    continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
                self.connections += 1
            for pair in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=pair, daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def split_url(api_url: str) -> Tuple[str, int]:
    hostport = api_url.split("//", 1)[1].split("/", 1)[0]
    host, port = hostport.rsplit(":", 1)
    return host, int(port)
