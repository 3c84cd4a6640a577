"""The execution threads of one worker: a queue hand-off, errors logged, a clean shutdown."""

from __future__ import annotations

import logging
import threading
from typing import List

import pytest

from swift_conductor.automation.task_threads import TaskThreads

from ..support.waiting import wait_for


def test_items_run_in_order_of_submission_on_one_thread() -> None:
    seen: List[int] = []
    threads: TaskThreads[int] = TaskThreads(1, seen.append)
    for i in range(50):
        assert threads.submit(i)
    wait_for(lambda: len(seen) == 50, 10, "50 items run")
    assert seen == list(range(50))
    threads.shutdown()


def test_an_error_in_an_item_is_logged_and_the_thread_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    seen: List[int] = []

    def run(i: int) -> None:
        if i == 1:
            raise RuntimeError("boom in item 1")
        seen.append(i)

    threads: TaskThreads[int] = TaskThreads(1, run)
    with caplog.at_level(logging.ERROR, logger="swift_conductor"):
        for i in range(3):
            threads.submit(i)
        wait_for(lambda: seen == [0, 2], 10, "the items around the failing one")
    assert any("boom in item 1" in (r.exc_text or "") for r in caplog.records)
    threads.shutdown()


def test_items_queued_before_shutdown_run_and_later_ones_are_refused() -> None:
    gate = threading.Event()
    seen: List[int] = []

    def run(i: int) -> None:
        gate.wait(10)
        seen.append(i)

    threads: TaskThreads[int] = TaskThreads(2, run, name="shutdown-test")
    for i in range(4):
        threads.submit(i)
    threads.shutdown()
    assert threads.submit(99) is False  # nothing is queued behind the end markers
    gate.set()
    wait_for(lambda: sorted(seen) == [0, 1, 2, 3], 10, "the items queued before the shutdown")
    wait_for(
        lambda: not any(t.is_alive() for t in threading.enumerate() if t.name.startswith("shutdown-test-")), 10, "exit"
    )
    assert 99 not in seen


def test_a_thread_count_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one thread"):
        TaskThreads(0, print)
