"""This process's transports and what it learned about each server, in one place with one lock.

Every client of the same server in a process shares one transport (its keep-alive connections) and one set of
:class:`ServerFacts` (the path dialect, whether update-v2 exists), so each fact is asked of the server once. Nothing
here crosses a fork or spawn: a child process starts with an empty registry.

``invalidate(url)`` forgets what was learned about a server (after it was replaced by another kind, say);
``close()`` closes every transport (a worker process calls it on its way out).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from .transports import Transport, make_transport

TransportKey = Tuple[str, str, str]  # (server API URL, TLS verification, transport choice)


@dataclass
class ServerFacts:
    """What a process learned about one server. ``None``: not known yet (ask again next time)."""

    dialect: Optional[str] = None
    update_v2: Optional[bool] = None


class TransportRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._transports: Dict[TransportKey, Transport] = {}
        self._facts: Dict[str, ServerFacts] = {}

    def _check_process(self) -> None:
        """A registry inherited by a forked child must not hand out the parent's sockets."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._transports = {}
            self._facts = {}

    def transport(self, url: str, verify: object, choice: str) -> Transport:
        """The live transport for this server, made on first use (and again after it was closed)."""
        key = (url, repr(verify), choice)
        with self._lock:
            self._check_process()
            found = self._transports.get(key)
            if found is None or found.closed:
                found = self._transports[key] = make_transport(url, verify, choice)
            return found

    def facts(self, url: str) -> ServerFacts:
        with self._lock:
            self._check_process()
            found = self._facts.get(url)
            if found is None:
                found = self._facts[url] = ServerFacts()
            return found

    def invalidate(self, url: str) -> None:
        """Forget what was learned about the server at ``url`` and close its transports."""
        with self._lock:
            self._facts.pop(url, None)
            closing = [key for key in self._transports if key[0] == url]
            transports = [self._transports.pop(key) for key in closing]
        for transport in transports:
            transport.close()

    def close(self) -> None:
        """Close every transport; clients made later open new ones."""
        with self._lock:
            transports = list(self._transports.values())
            self._transports.clear()
        for transport in transports:
            transport.close()


#: The one registry of this process.
registry = TransportRegistry()
