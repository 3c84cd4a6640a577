"""Stopping a WorkerHost program, however the stop signal arrives: to the host, to the whole process group (as
systemd, ``kill -- -PGID``, a terminal's Ctrl-C or a container runtime send it), to one worker process, once or
twice. Each program runs in its own session (``start_new_session``), so its process group is real."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from swift_conductor.automation.process import EXIT_ABANDONED
from swift_conductor.automation.signals import SETTLE_WINDOW_S
from swift_conductor.clients import MetadataClient, TaskClient, WorkflowClient
from swift_conductor.configuration import Configuration
from swift_conductor.http.models import Workflow

from .conftest import Launcher, Program, Server, wait_for


def _start_slow(server: Server, launch: Launcher, prefix: str, seconds: str = "3") -> tuple[Program, str]:
    server.define(f"{prefix}_wf", f"{prefix}_slow")
    program = launch("decorated_program.py", server.url, env={"E2E_PREFIX": prefix, "E2E_SLOW_SECONDS": seconds})
    wid = server.workflows.start_workflow(f"{prefix}_wf", {"n": 7})

    def running() -> Workflow | None:
        wf = server.workflows.get_workflow(wid)
        return wf if wf.tasks and wf.tasks[0].status == "IN_PROGRESS" else None

    wait_for(running, 30, "the slow task to be picked up")
    return program, wid


def _slow_worker_pid(program: Program, prefix: str) -> int:
    """The pid of the process serving the slow task, from its start line (every line names its process)."""

    def find() -> int | None:
        match = re.search(rf" (\d+) \[worker={prefix}_slow\] swift_conductor\.automation: worker ", program.log())
        return int(match.group(1)) if match else None

    return wait_for(find, 20, "the slow worker's start line")


def _send(program: Program, how: str) -> None:
    if how == "group":
        os.killpg(program.pid, signal.SIGTERM)
    elif how == "group-sigint":  # one Ctrl-C in a terminal
        os.killpg(program.pid, signal.SIGINT)
    elif how == "host":
        os.kill(program.pid, signal.SIGTERM)
    elif how == "host-twice":  # two copies at once, e.g. from two supervisors
        os.kill(program.pid, signal.SIGTERM)
        os.kill(program.pid, signal.SIGTERM)
    else:
        raise ValueError(how)


def _assert_completed(server: Server, wid: str, program: Program) -> None:
    done = wait_for(lambda: server.finished(wid), 30, "the workflow to finish")
    assert done.status == "COMPLETED", program.log()[-3000:]
    assert done.tasks[0].output_data["n"] == 7


@pytest.mark.parametrize("how", ["group", "group-sigint", "host", "host-twice"])
def test_one_stop_finishes_the_task_in_flight_and_exits_0(server: Server, launch: Launcher, uid: str, how: str) -> None:
    prefix = f"stop_{how.replace('-', '')}_{uid}"
    program, wid = _start_slow(server, launch, prefix)
    _send(program, how)
    assert program.wait(40) == 0, program.log()[-3000:]
    _assert_completed(server, wid, program)
    log = program.log()
    assert "second stop signal" not in log and "abandon" not in log
    assert "host exited cleanly" in log


def test_a_group_sigterm_on_the_real_servers(real_server_url: str, launch: Launcher, uid: str) -> None:
    """The issue's scenario on Netflix 3.15 and Conductor OSS 3.32 by name (``server`` covers them as well)."""
    config = Configuration(server_api_url=real_server_url)
    server = Server(real_server_url, TaskClient(config), WorkflowClient(config), MetadataClient(config))
    program, wid = _start_slow(server, launch, f"rgroup_{uid}")
    os.killpg(program.pid, signal.SIGTERM)
    assert program.wait(40) == 0, program.log()[-3000:]
    _assert_completed(server, wid, program)


def test_a_stop_sent_to_one_worker_process_drains_it_and_the_host_starts_a_new_one(
    server: Server, launch: Launcher, uid: str
) -> None:
    prefix = f"stopchild_{uid}"
    program, wid = _start_slow(server, launch, prefix)
    child = _slow_worker_pid(program, prefix)
    os.kill(child, signal.SIGTERM)
    _assert_completed(server, wid, program)
    wait_for(lambda: child not in program.worker_pids(), 30, "the worker process to exit")
    wait_for(lambda: len(program.worker_pids()) == 2, 30, "a new worker process")
    again = server.workflows.start_workflow(f"{prefix}_wf", {"n": 7})
    _assert_completed(server, again, program)  # the new process serves
    os.killpg(program.pid, signal.SIGTERM)
    assert program.wait(40) == 0, program.log()[-3000:]


def test_a_second_ctrl_c_after_the_settling_window_abandons_the_task_and_says_so(
    server: Server, launch: Launcher, uid: str
) -> None:
    prefix = f"ctrlc_{uid}"
    program, wid = _start_slow(server, launch, prefix, seconds="60")
    os.killpg(program.pid, signal.SIGINT)
    wait_for(lambda: "no more polling" in program.log(), 10, "the workers to start draining")
    time.sleep(SETTLE_WINDOW_S + 0.5)  # a signal past the window is a second, deliberate stop
    assert program.process.poll() is None, "the first Ctrl-C waits for the task in flight"
    os.killpg(program.pid, signal.SIGINT)
    assert program.wait(20) == EXIT_ABANDONED, program.log()[-3000:]
    task = server.workflows.get_workflow(wid).tasks[0]
    assert task.status == "IN_PROGRESS"  # abandoned: the server times it out
    errors = [line for line in program.log().splitlines() if " ERROR " in line and "work abandoned" in line]
    assert errors and task.task_id in errors[0], program.log()[-3000:]
    server.workflows.terminate(wid, "test over")


def test_a_stop_while_the_workers_still_start_up_is_a_clean_stop(server: Server, launch: Launcher, uid: str) -> None:
    """Worker processes start with the stop signals blocked until their handlers are in place, so a stop that
    reaches them while they import the program is handled like any other (no KeyboardInterrupt, exit 0)."""
    prefix = f"earlystop_{uid}"
    program = launch("decorated_program.py", server.url, env={"E2E_PREFIX": prefix})
    wait_for(lambda: len(program.worker_pids()) == 2, 30, "the worker processes to be spawned")
    os.killpg(program.pid, signal.SIGINT)
    assert program.wait(40) == 0, program.log()[-3000:]
    assert "Traceback" not in program.log() and "KeyboardInterrupt" not in program.log()
