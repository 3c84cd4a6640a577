"""WorkerHost.health() reflects whether each worker process still reaches the server."""

from __future__ import annotations

import time
from typing import Any, Callable

from swift_conductor import Configuration, Worker, WorkerHost

from ..support.proxy import FaultProxy, split_url
from ..worker.binding_fixtures import Doubler


def eventually(check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return value


def test_health_follows_the_server_going_away_and_coming_back(embedded_server_url: str, uid: str) -> None:
    with FaultProxy(*split_url(embedded_server_url)) as proxy:
        config = Configuration(server_api_url=f"http://127.0.0.1:{proxy.port}/api", connect_timeout=0.5)
        host = WorkerHost([Worker(f"health_{uid}", Doubler())], config, log_level=None, environ={})
        assert host.health()["healthy"] is False  # nothing started yet
        host.start_processes()
        try:
            report = eventually(lambda: (h := host.health(max_silence=2))["healthy"] and h)
            (worker,) = report["workers"]
            assert worker["alive"] and worker["tasks"] == [f"health_{uid}"] and worker["restarts"] == 0
            proxy.down()
            eventually(lambda: not host.health(max_silence=2)["healthy"])
            assert host.health()["workers"][0]["alive"]  # alive, but not reaching the server
            proxy.up()
            eventually(lambda: host.health(max_silence=2)["healthy"])
        finally:
            host.stop_processes(timeout=20)
        assert not host.health()["workers"][0]["alive"]
