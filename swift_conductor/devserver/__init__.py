"""An embedded, in-memory, Conductor-compatible server for development and tests (no Java needed).

``python -m swift_conductor.devserver --port 8080`` runs it in the foreground; in code::

    with EmbeddedServer() as server:
        server.api_url  # "http://127.0.0.1:PORT/api"

It speaks both path dialects (Netflix/OSS ``/api/tasks``, Swift 3.16 ``/api/task``) and runs real workflows:
worker tasks and the system tasks (SWITCH, FORK_JOIN/JOIN, DO_WHILE, SUB_WORKFLOW, WAIT, INLINE, HTTP, ...) as
Netflix Conductor 3.15.0 and Conductor OSS 3.32.3 run them. ``EmbeddedServer(time_control=True)`` lets tests
move its clock. See docs/embedded-server.md for what differs from the real servers.
"""

from __future__ import annotations

from .server import EmbeddedServer
from .state import Engine

__all__ = ["EmbeddedServer", "Engine"]
