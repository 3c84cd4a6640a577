"""The plugin's fixtures for these tests, and how to hand the plugin to pytester runs.

Once the package is installed with its ``pytest11`` entry point, pytest loads the plugin by itself (and loading it
again by module name would be an error); from a checkout that is not installed that way, it is loaded here.
"""

from __future__ import annotations

import socket
from importlib.metadata import entry_points
from typing import Iterator, List

import pytest

from swift_conductor.worker import registry

PLUGIN = "swift_conductor.testing.plugin"


def _entry_point_installed() -> bool:
    found = entry_points()
    group = found.select(group="pytest11") if hasattr(found, "select") else found.get("pytest11", [])
    return any(ep.value == PLUGIN for ep in group)


ENTRY_POINT_INSTALLED = _entry_point_installed()
#: Arguments for pytester runs: the plugin, unless the installed entry point already loads it.
#: (In-process runs find the plugin imported already, too late for assertion rewriting: no need to warn.)
PLUGIN_ARGS: List[str] = [
    *([] if ENTRY_POINT_INSTALLED else ["-p", PLUGIN]),
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
]

if not ENTRY_POINT_INSTALLED:
    from swift_conductor.testing.plugin import (  # noqa: F401 - fixtures for this directory
        _conductor_worker_errors,
        conductor,
        conductor_server,
        run_workers,
        run_workflow,
        start_workflow,
        unique_name,
    )


def closed_port_url() -> str:
    """An API URL on 127.0.0.1 where nothing listens (the port was just free)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


@pytest.fixture(autouse=True)
def _registry_restored() -> Iterator[None]:
    """Test files run by pytester register ``@worker_task`` functions in this process: forget them after."""
    saved = dict(registry._workers)
    try:
        yield
    finally:
        registry.clear()
        registry._workers.update(saved)
