"""WorkerHost end to end, on both servers: real processes, real signals, a real outage."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from swift_conductor.automation.process import EXIT_ABANDONED
from swift_conductor.automation.signals import SETTLE_WINDOW_S
from swift_conductor.clients.task_client import MAX_LONG_POLL_MS
from swift_conductor.http.models import Workflow

from ..support.proxy import FaultProxy, split_url
from .conftest import PROGRAMS, Launcher, Server, wait_for


def _seed_verbatim(tmp_path: Path, url: str, first: str, second: str) -> Path:
    """The seed README's two snippets exactly as written (no __main__ guard, set_start_method at top level);
    only the server URL and the task names are replaced so the test has its own queues."""
    text = (PROGRAMS / "seed_verbatim.py").read_text()
    text = text.replace("http://localhost:8080/api", url).replace("'task_1'", repr(first))
    path = tmp_path / "seed_main.py"
    path.write_text(text.replace("'task_2'", repr(second)))
    return path


@pytest.mark.parametrize("variant", ["verbatim", "guarded"])
def test_the_seed_program_serves_two_task_workflows(
    server: Server, launch: Launcher, uid: str, tmp_path: Path, variant: str
) -> None:
    first, second, workflow = f"seed1_{uid}", f"seed2_{uid}", f"seedwf_{uid}"
    server.define(workflow, first, second)
    if variant == "verbatim":
        program = launch(str(_seed_verbatim(tmp_path, server.url, first, second)))
    else:
        program = launch("seed_program.py", server.url, first, second)
    ids = [server.workflows.start_workflow(workflow, {"n": i}) for i in range(5)]
    done = [wait_for(lambda i=i: server.finished(i), 30, f"workflow {i}") for i in ids]
    assert [w.status for w in done] == ["COMPLETED"] * 5, program.log()[-3000:]
    for w in done:
        assert w.output["last"] == {"outputKey1": "value", "oddEven": 1, "mod": 4}
        assert len({t.worker_id for t in w.tasks}) == 2, "each process polls with its own worker id"
    # The same two processes served everything (worker ids are host-pid-serial): none died and was replaced.
    served_by = {int(str(t.worker_id).rsplit("-", 2)[1]) for w in done for t in w.tasks}
    assert served_by == set(program.worker_pids()) and len(served_by) == 2
    program.signal(signal.SIGTERM)
    assert program.wait(40) == 0


def _slow_task(server: Server, workflow_id: str) -> Workflow:
    def started() -> Workflow | None:
        wf = server.workflows.get_workflow(workflow_id)
        return wf if wf.tasks and wf.tasks[0].status == "IN_PROGRESS" else None

    return wait_for(started, 30, "the slow task to be picked up")


def test_sigterm_finishes_and_reports_the_task_in_flight(server: Server, launch: Launcher, uid: str) -> None:
    prefix = f"term_{uid}"
    server.define(f"{prefix}_wf", f"{prefix}_slow")
    program = launch("decorated_program.py", server.url, env={"E2E_PREFIX": prefix, "E2E_SLOW_SECONDS": "3"})
    wid = server.workflows.start_workflow(f"{prefix}_wf", {"n": 1})
    _slow_task(server, wid)
    program.signal(signal.SIGTERM)
    # A poll already on its way when the signal came may still bring tasks (they are run and reported); once the
    # slow worker's loop says it stopped polling, it takes nothing new. (The fast worker's line is not enough:
    # OSS 3.32 hands a task that arrives during a long poll to the poll still in flight.)
    stopped = f"[worker={prefix}_slow] swift_conductor.automation: polling stopped; waiting up to"
    wait_for(lambda: stopped in program.log(), 10, "the slow worker to stop polling")
    late = server.workflows.start_workflow(f"{prefix}_wf", {"n": 2})
    assert program.wait(30) == 0
    assert "host exited cleanly" in program.log()
    done = server.workflows.get_workflow(wid)
    assert done.status == "COMPLETED", program.log()[-2000:]
    assert done.tasks[0].output_data["n"] == 1
    waiting = server.workflows.get_workflow(late)
    assert waiting.status == "RUNNING" and waiting.tasks[0].status == "SCHEDULED"
    server.workflows.terminate(late, "test over")


def test_a_killed_worker_process_is_restarted_and_serves_again(server: Server, launch: Launcher, uid: str) -> None:
    prefix = f"kill_{uid}"
    server.define(f"{prefix}_wf", f"{prefix}_fast")
    program = launch("decorated_program.py", server.url, env={"E2E_PREFIX": prefix})
    before = wait_for(lambda: program.worker_pids() if len(program.worker_pids()) == 2 else None, 20, "2 workers")
    wid = server.workflows.start_workflow(f"{prefix}_wf", {"n": 1})
    assert wait_for(lambda: server.finished(wid), 30, "first workflow").status == "COMPLETED"
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    after = wait_for(
        lambda: program.worker_pids() if len(set(program.worker_pids()) - set(before)) == 2 else None,
        20,
        "restarted workers",
    )
    assert not set(after) & set(before)
    wid2 = server.workflows.start_workflow(f"{prefix}_wf", {"n": 21})
    done = wait_for(lambda: server.finished(wid2), 30, "workflow after restart")
    assert done.status == "COMPLETED" and done.output["last"] == {"result": 42}
    assert "killed by SIGKILL" in program.log()
    program.signal(signal.SIGTERM)
    assert program.wait(40) == 0


def _polled_since(server: Server, task_type: str, since_ms: int) -> bool:
    return any(entry.get("lastPollTime", 0) >= since_ms for entry in server.tasks.poll_data(task_type))


def test_results_survive_a_server_outage_during_the_update(
    server: Server, launch: Launcher, uid: str, tmp_path: Path
) -> None:
    prefix = f"outage_{uid}"
    server.define(f"{prefix}_wf", f"{prefix}_slow")
    gate = tmp_path / "gate"
    host, port = split_url(server.url)
    with FaultProxy(host, port) as proxy:
        proxied = f"http://127.0.0.1:{proxy.port}/api"
        program = launch("decorated_program.py", proxied, env={"E2E_PREFIX": prefix, "E2E_GATE": str(gate)})
        wid = server.workflows.start_workflow(f"{prefix}_wf", {"n": 5})
        _slow_task(server, wid)  # the task waits for the gate: it cannot finish before the outage
        proxy.down()
        gate.touch()  # the task finishes while the server is unreachable
        wait_for(lambda: Path(f"{gate}.done").exists(), 30, "the task to finish")
        wait_for(lambda: "could not report task" in program.log(), 30, "a delivery attempt during the outage")
        assert server.workflows.get_workflow(wid).status == "RUNNING"
        proxy.up()
        done = wait_for(lambda: server.finished(wid), 40, "the result delivered after the outage")
        assert done.status == "COMPLETED" and done.tasks[0].output_data["n"] == 5
        # A long poll cut by the outage may still be waiting on the server, and would take a task queued now for
        # nobody (as on the real servers). Queue the next one once the server has seen a poll that began after
        # any such poll must have ended.
        cut_ms = int(time.time() * 1000) + MAX_LONG_POLL_MS
        wait_for(lambda: _polled_since(server, f"{prefix}_slow", cut_ms), 40, "a poll after the outage")
        again = server.workflows.start_workflow(f"{prefix}_wf", {"n": 6})
        resumed = wait_for(lambda: server.finished(again), 40, "polling to resume after the outage")
        assert resumed.status == "COMPLETED"  # polling, which failed during the outage, resumed by itself
        program.signal(signal.SIGTERM)
        assert program.wait(40) == 0


def test_a_second_signal_stops_at_once(server: Server, launch: Launcher, uid: str) -> None:
    prefix = f"twice_{uid}"
    server.define(f"{prefix}_wf", f"{prefix}_slow")
    program = launch("decorated_program.py", server.url, env={"E2E_PREFIX": prefix, "E2E_SLOW_SECONDS": "60"})
    wid = server.workflows.start_workflow(f"{prefix}_wf", {"n": 1})
    _slow_task(server, wid)
    program.signal(signal.SIGTERM)
    wait_for(lambda: "no more polling" in program.log(), 10, "the worker to start draining")
    time.sleep(SETTLE_WINDOW_S + 0.5)  # past the window, a signal is a second, deliberate stop
    assert program.process.poll() is None, "the first signal waits for the task in flight"
    program.signal(signal.SIGTERM)
    assert program.wait(15) == EXIT_ABANDONED  # far less than the 60 s task; the exit status says work was lost
    task = server.workflows.get_workflow(wid).tasks[0]
    assert task.status == "IN_PROGRESS"  # abandoned, as asked
    assert f"work abandoned by worker process worker-{prefix}_slow" in program.log()
    assert task.task_id in program.log().split("work abandoned by worker process", 1)[1]
    server.workflows.terminate(wid, "test over")


def test_a_task_overrunning_the_grace_period_is_abandoned_and_the_process_exits(
    server: Server, launch: Launcher, uid: str
) -> None:
    prefix = f"overrun_{uid}"
    server.define(f"{prefix}_wf", f"{prefix}_slow")
    env = {"E2E_PREFIX": prefix, "E2E_SLOW_SECONDS": "60", "E2E_GRACE": "1"}
    program = launch("decorated_program.py", server.url, env=env)
    wid = server.workflows.start_workflow(f"{prefix}_wf", {"n": 1})
    _slow_task(server, wid)
    program.signal(signal.SIGTERM)
    assert program.wait(20) == EXIT_ABANDONED  # the host stopped as asked, and says work was abandoned
    log = program.log()
    assert "grace period over with 1 task(s) still running" in log
    task = server.workflows.get_workflow(wid).tasks[0]
    assert f"work abandoned by worker process worker-{prefix}_slow" in log and task.task_id in log
    assert "killing it" not in log  # the worker left by itself, it was not SIGKILLed
    server.workflows.terminate(wid, "test over")


def test_workers_stop_when_the_host_is_killed(server: Server, launch: Launcher, uid: str) -> None:
    prefix = f"orphan_{uid}"
    server.define(f"{prefix}_wf", f"{prefix}_fast")
    program = launch("decorated_program.py", server.url, env={"E2E_PREFIX": prefix})
    workers = wait_for(lambda: program.worker_pids() if len(program.worker_pids()) == 2 else None, 20, "workers")
    program.signal(signal.SIGKILL)
    program.wait(10)
    wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in workers), 20, "orphaned workers to exit")


def test_a_program_that_crashes_without_stopping_the_host_still_exits(
    server: Server, launch: Launcher, uid: str
) -> None:
    prefix = f"nojoin_{uid}"
    server.define(f"{prefix}_wf", f"{prefix}_fast")
    program = launch("no_join_program.py", server.url, env={"E2E_PREFIX": prefix, "E2E_SLEEP": "3"})
    workers = wait_for(lambda: program.worker_pids() or None, 20, "the worker")
    assert program.wait(30) == 1  # the application's own error, not a hang
    assert "the application crashed" in program.log()
    assert not any(os.path.exists(f"/proc/{pid}") for pid in workers)
