"""The pytest plugin (entry point ``pytest11``: ``swift_conductor``).

Loading it costs an option and a few fixture definitions: the server and the clients are imported and started
only when a test asks for a fixture. Fixtures:

- ``conductor_server`` (session): the embedded server on a free port, or the real server given by
  ``--conductor-server=URL`` / ``CONDUCTOR_TEST_SERVER_URL``; ``.api_url``, ``.advance(seconds)``.
- ``conductor``: the clients bound to it: ``.metadata``, ``.workflows``, ``.tasks``.
- ``run_workers``: ``with run_workers(double, ShoutWorker(), thread_count=2): ...``
- ``run_workflow``: ``workflow = run_workflow(definition_or_name, input, timeout=30)``
- ``start_workflow``: ``run = start_workflow(definition_or_name, input)``, then ``run.wait_until(...)``, ``run.wait()``
- ``unique_name``: ``unique_name("orders")`` -> ``"orders_1f3a..."``

Under pytest-xdist each xdist worker process has its own session, hence its own embedded server.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Iterator, List

import pytest

if TYPE_CHECKING:
    from .runner import RunningWorkers, WorkerErrors
    from .server import Conductor, ConductorTestServer

SERVER_URL_ENV = "CONDUCTOR_TEST_SERVER_URL"  # kept equal to server.SERVER_URL_ENV (not imported: stay light)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("swift-conductor", "Swift Conductor testing")
    group.addoption(
        "--conductor-server",
        dest="conductor_server_url",
        default=None,
        metavar="URL",
        help=f"run the conductor fixtures against this server's API URL (default: ${SERVER_URL_ENV}, "
        "else an embedded server per test session)",
    )


@pytest.fixture(scope="session")
def conductor_server(request: pytest.FixtureRequest) -> Iterator[ConductorTestServer]:
    """The Conductor server of this test session (of this xdist worker): embedded, or real by URL."""
    from .server import ConductorTestServer, ServerUnavailable

    url = request.config.getoption("conductor_server_url", default=None)
    source = "--conductor-server"
    if not url:
        url, source = os.environ.get(SERVER_URL_ENV, ""), SERVER_URL_ENV
    if url:
        try:
            server = ConductorTestServer.connect(url, source)
        except ServerUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
    else:
        server = ConductorTestServer.start_embedded()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def conductor(conductor_server: ConductorTestServer) -> Conductor:
    """The metadata, workflow and task clients, bound to ``conductor_server``."""
    from .server import Conductor

    return Conductor.connect(conductor_server.configuration())


@pytest.fixture
def _conductor_worker_errors() -> WorkerErrors:
    """The test's unexpected worker errors, shared by ``run_workers`` and ``run_workflow``."""
    from .runner import WorkerErrors

    return WorkerErrors()


@pytest.fixture
def run_workers(
    conductor_server: ConductorTestServer, _conductor_worker_errors: WorkerErrors
) -> Iterator[Callable[..., RunningWorkers]]:
    """``run_workers(*workers, thread_count=None, processes=False, raise_on_error=True)``: a context manager
    serving the workers on ``conductor_server`` for its block."""
    from .runner import run_workers as make

    started: List[RunningWorkers] = []

    def run(*workers: Any, **options: Any) -> RunningWorkers:
        options.setdefault("configuration", conductor_server.configuration())
        options.setdefault("worker_errors", _conductor_worker_errors)
        running = make(*workers, **options)
        started.append(running)
        return running

    yield run
    for running in started:  # started without ``with``, or a block left by an exception: stop them all
        running.stop()
    for running in started:
        if not running.exited:  # never checked by a ``with`` block: check now
            running.check()


@pytest.fixture
def run_workflow(conductor_server: ConductorTestServer, _conductor_worker_errors: WorkerErrors) -> Callable[..., Any]:
    """``run_workflow(definition_or_name, input=None, timeout=30, **options)``: start a workflow on
    ``conductor_server``, wait until it ends, return it; a FAILED or TIMED_OUT one raises AssertionError."""
    from .workflows import run_workflow as run

    def run_bound(*args: Any, **options: Any) -> Any:
        options.setdefault("configuration", conductor_server.configuration())
        options.setdefault("worker_errors", _conductor_worker_errors)
        return run(*args, **options)

    return run_bound


@pytest.fixture
def start_workflow(conductor_server: ConductorTestServer, _conductor_worker_errors: WorkerErrors) -> Callable[..., Any]:
    """``start_workflow(definition_or_name, input=None, **options)``: register and start a workflow on
    ``conductor_server`` and return a ``WorkflowRun`` (``.wait()``, ``.wait_until(condition)``, ``.workflow()``)."""
    from .workflows import start_workflow as start

    def start_bound(*args: Any, **options: Any) -> Any:
        options.setdefault("configuration", conductor_server.configuration())
        options.setdefault("worker_errors", _conductor_worker_errors)
        return start(*args, **options)

    return start_bound


@pytest.fixture
def unique_name() -> Callable[[str], str]:
    """``unique_name(prefix)``: a name no other test (or xdist worker, or earlier run) uses."""
    from .server import unique_name as make

    return make
