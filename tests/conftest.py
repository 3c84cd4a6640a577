"""Shared fixtures: the real Conductor server, the embedded server, and unique names.

The real servers (Netflix Conductor 3.15.0 and Conductor OSS 3.32.3) start once per session: when the selected
tests need either, both are launched together before the first test runs, so their start-up counts against no
test's timeout. SWIFT_CONDUCTOR_NETFLIX_URL / SWIFT_CONDUCTOR_OSS_URL reuse running ones. Without Java or Maven
their tests are skipped, unless SWIFT_CONDUCTOR_REQUIRE_REAL_SERVER=1 (as in CI), where a server that cannot start
fails the run.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, Iterable, Iterator, Set

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
REAL_FLAVORS = ("netflix", "oss")
#: Reuse a running server instead of starting one: SWIFT_CONDUCTOR_NETFLIX_URL, SWIFT_CONDUCTOR_OSS_URL.
REUSE_ENV = {"netflix": "SWIFT_CONDUCTOR_NETFLIX_URL", "oss": "SWIFT_CONDUCTOR_OSS_URL"}


def _answers_health(api_url: str) -> bool:
    root = api_url[: -len("/api")] if api_url.endswith("/api") else api_url
    try:
        with urllib.request.urlopen(root + "/health", timeout=10) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class _RealServers:
    """Starts each real server at most once per session, both launched together on first need."""

    def __init__(self) -> None:
        self.servers: Dict[str, object] = {}
        self.errors: Dict[str, str] = {}
        self.urls: Dict[str, str] = {}
        self.launched = False

    def launch_all(self) -> None:
        if self.launched:
            return
        self.launched = True
        for flavor in REAL_FLAVORS:
            given = os.environ.get(REUSE_ENV[flavor])
            if given:
                given = given.rstrip("/")
                if _answers_health(given):
                    self.urls[flavor] = given
                else:
                    self.errors[flavor] = f"{REUSE_ENV[flavor]}={given} does not answer GET /health with 200"
                continue
            missing = conductor_server.missing_tools(flavor)
            if missing:
                self.errors[flavor] = f"the {flavor} server needs {' and '.join(missing)}"
                continue
            server = conductor_server.ConductorServer(flavor=flavor)
            try:
                server.launch()
            except conductor_server.ServerUnavailable as exc:
                self.errors[flavor] = str(exc)
                continue
            self.servers[flavor] = server

    def prepare(self, flavors: Iterable[str]) -> None:
        """Launch both and wait until the ``flavors`` needed are healthy; failures are kept for :meth:`url`."""
        self.launch_all()
        for flavor in flavors:
            self._wait(flavor)

    def _wait(self, flavor: str) -> None:
        server = self.servers.get(flavor)
        if flavor in self.urls or server is None or flavor in self.errors:
            return
        try:
            server.wait_healthy()  # type: ignore[attr-defined]
        except conductor_server.ServerUnavailable as exc:
            self.errors[flavor] = str(exc)
            return
        self.urls[flavor] = server.api_url  # type: ignore[attr-defined]
        print(
            f"\n[conductor] {flavor} server up at {server.api_url} "  # type: ignore[attr-defined]
            f"in {server.startup_seconds:.1f} s",  # type: ignore[attr-defined]
            file=sys.stderr,
        )

    def url(self, flavor: str) -> str:
        self.launch_all()
        self._wait(flavor)
        if flavor in self.urls:
            return self.urls[flavor]
        reason = f"real Conductor server ({flavor}) unavailable: {self.errors.get(flavor)}"
        if REQUIRE_REAL:
            pytest.fail(reason + " (SWIFT_CONDUCTOR_REQUIRE_REAL_SERVER is set)")
        pytest.skip(reason)

    def stop_all(self) -> None:
        for server in self.servers.values():
            server.stop()  # type: ignore[attr-defined]


_REAL_SERVERS = _RealServers()


def _real_flavors_needed(items: Iterable[pytest.Item]) -> Set[str]:
    """The real servers the selected tests use, by fixture or by parametrization (``server_kind``,
    ``real_server_url``)."""
    needed: Set[str] = set()
    for item in items:
        names = getattr(item, "fixturenames", ())
        needed.update(flavor for flavor in REAL_FLAVORS if f"{flavor}_server_url" in names)
        params = getattr(getattr(item, "callspec", None), "params", {})
        needed.update(params[key] for key in ("server_kind", "real_server_url") if params.get(key) in REAL_FLAVORS)
    return needed


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Start the real servers before the first test: a slow start must not eat a test's timeout."""
    if not session.config.option.collectonly:
        needed = _real_flavors_needed(session.items)
        if needed:
            _REAL_SERVERS.prepare(sorted(needed))


def pytest_sessionfinish(session: pytest.Session) -> None:
    _REAL_SERVERS.stop_all()


@pytest.fixture(scope="session")
def _real_servers() -> _RealServers:
    return _REAL_SERVERS


@pytest.fixture(scope="session")
def netflix_server_url(_real_servers: _RealServers) -> str:
    """API URL of Netflix Conductor 3.15.0 (in-memory), started once per session."""
    return _real_servers.url("netflix")


@pytest.fixture(scope="session")
def oss_server_url(_real_servers: _RealServers) -> str:
    """API URL of Conductor OSS 3.32.3 (SQLite), started once per session."""
    return _real_servers.url("oss")


@pytest.fixture(params=REAL_FLAVORS)
def real_server_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs on both real servers."""
    return str(request.getfixturevalue(f"{request.param}_server_url"))


@pytest.fixture(scope="session")
def embedded_server_url() -> Iterator[str]:
    """API URL of the embedded server, running in a thread of the test process."""
    from swift_conductor.devserver import EmbeddedServer

    with EmbeddedServer(port=0) as server:
        yield server.api_url


SERVER_KINDS = ("embedded", *REAL_FLAVORS)


@pytest.fixture(params=SERVER_KINDS)
def server_kind(request: pytest.FixtureRequest) -> str:
    """Which server a test runs on: "embedded", "netflix" (3.15.0) or "oss" (3.32.3)."""
    return str(request.param)


@pytest.fixture
def server_url(server_kind: str, request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs on the embedded server, Netflix 3.15.0 and Conductor OSS 3.32.3."""
    return str(request.getfixturevalue(f"{server_kind}_server_url"))


@pytest.fixture
def uid() -> str:
    """A short unique suffix: servers are shared across tests, so names must not collide."""
    return uuid.uuid4().hex[:10]
