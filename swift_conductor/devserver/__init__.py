"""An embedded, in-memory, Conductor-compatible server for development and tests (no Java needed).

``python -m swift_conductor.devserver --port 8080`` runs it in the foreground; in code::

    with EmbeddedServer() as server:
        server.api_url  # "http://127.0.0.1:PORT/api"

It speaks both path dialects (Netflix/OSS ``/api/tasks``, Swift 3.16 ``/api/task``) and runs linear
workflows of worker tasks (SIMPLE/CUSTOM). See docs/embedded-server.md for what differs from the real server.
"""

from __future__ import annotations

from .server import EmbeddedServer
from .state import Engine

__all__ = ["EmbeddedServer", "Engine"]
