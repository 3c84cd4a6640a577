"""Shared fixtures: the real Conductor server, the embedded server, and unique names.

The real server (Netflix Conductor 3.15.0) starts once per session. Set CONDUCTOR_TEST_SERVER_URL to reuse a
running one. Without Java or Maven its tests are skipped, unless SWIFT_CONDUCTOR_REQUIRE_REAL_SERVER=1 (as in
CI), where a server that cannot start fails the run.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_server_script():  # type: ignore[no-untyped-def]
    path = ROOT / "scripts" / "conductor_server.py"
    spec = importlib.util.spec_from_file_location("conductor_server_script", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


conductor_server = _load_server_script()


def subprocess_env(**extra: str) -> dict:
    """The environment for programs the tests start: they import this checkout, whatever is installed."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


REQUIRE_REAL = os.environ.get("SWIFT_CONDUCTOR_REQUIRE_REAL_SERVER", "") not in ("", "0", "false")


@pytest.fixture(scope="session")
def real_server_url() -> Iterator[str]:
    """API URL of a real Conductor 3.15.0 server, started for this test session."""
    given = os.environ.get("CONDUCTOR_TEST_SERVER_URL")
    if given:
        yield given.rstrip("/")
        return
    missing = conductor_server.missing_tools()
    if missing:
        reason = f"real Conductor server needs {' and '.join(missing)} on PATH"
        if REQUIRE_REAL:
            pytest.fail(reason + " (SWIFT_CONDUCTOR_REQUIRE_REAL_SERVER is set)")
        pytest.skip(reason)
    server = conductor_server.ConductorServer()
    try:
        server.start()
    except conductor_server.ServerUnavailable as exc:
        if REQUIRE_REAL:
            pytest.fail(f"real Conductor server could not start: {exc}")
        pytest.skip(f"real Conductor server could not start: {exc}")
    print(f"\n[conductor] real server up at {server.api_url} in {server.startup_seconds:.1f} s", file=sys.stderr)
    try:
        yield server.api_url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def embedded_server_url() -> Iterator[str]:
    """API URL of the embedded server, running in a thread of the test process."""
    from swift_conductor.devserver import EmbeddedServer

    with EmbeddedServer(port=0) as server:
        yield server.api_url


@pytest.fixture(params=["embedded", "real"])
def server_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs once on the embedded server and once on the real one."""
    return str(request.getfixturevalue(f"{request.param}_server_url"))


@pytest.fixture
def uid() -> str:
    """A short unique suffix: servers are shared across tests, so names must not collide."""
    return uuid.uuid4().hex[:10]
