"""A 50-task workflow (a fork of 10, a loop of 10, worker tasks around them) on the embedded server and on
Conductor OSS 3.32.3, driven by the same worker in the same run (a script that prints numbers).

    python benchmarks/workflow_bench.py [--workflows 5] [--threads 4] [--oss-url URL] [--skip-oss]

The workflow: 10 worker tasks, a FORK_JOIN of 10 one-task branches + JOIN, 10 more worker tasks, a DO_WHILE
of 10 iterations of one worker task, 7 worker tasks: 47 worker tasks and 3 system tasks. The embedded server
runs in its own process (``python -m swift_conductor.devserver --port 0``). The worker is ``--threads``
threads, each a keep-alive session looping "poll one task (100 ms long poll), complete it"; the same code for
both servers. We time from the first start to the moment every workflow shows COMPLETED.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, Dict, List, Tuple

import requests

WORKER_TASKS = 47


def definition(name: str, task: str) -> Dict[str, Any]:
    def worker(ref: str) -> Dict[str, Any]:
        return {"name": task, "taskReferenceName": ref, "type": "SIMPLE", "inputParameters": {"n": ref}}

    tasks: List[Dict[str, Any]] = [worker(f"a{i}") for i in range(10)]
    tasks.append(
        {
            "name": "fork",
            "taskReferenceName": "fork",
            "type": "FORK_JOIN",
            "forkTasks": [[worker(f"f{i}")] for i in range(10)],
        }
    )
    tasks.append({"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": [f"f{i}" for i in range(10)]})
    tasks += [worker(f"b{i}") for i in range(10)]
    tasks.append(
        {
            "name": "loop",
            "taskReferenceName": "loop",
            "type": "DO_WHILE",
            "inputParameters": {},
            "loopCondition": "if ($.loop['iteration'] < 10) { true; } else { false; }",
            "loopOver": [worker("l")],
        }
    )
    tasks += [worker(f"c{i}") for i in range(7)]
    return {"name": name, "version": 1, "schemaVersion": 2, "ownerEmail": "bench@example.com", "tasks": tasks}


def start_embedded() -> Tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "swift_conductor.devserver", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "ready at" not in line:
        proc.kill()
        raise SystemExit(f"embedded server did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[-1].strip()


def work(api: str, task: str, stop: threading.Event, counter: List[int], lock: threading.Lock) -> None:
    s = requests.Session()
    while not stop.is_set():
        got = s.get(
            f"{api}/tasks/poll/batch/{task}", params={"count": 1, "timeout": 100, "workerid": "bench"}, timeout=30
        ).json()
        for t in got:
            body = {"taskId": t["taskId"], "workflowInstanceId": t["workflowInstanceId"], "status": "COMPLETED"}
            s.post(f"{api}/tasks", json=body, timeout=30).raise_for_status()
            with lock:
                counter[0] += 1


def run(api: str, workflows: int, threads: int, timeout: float) -> float:
    uid = uuid.uuid4().hex[:8]
    name, task = f"wfbench_{uid}", f"wfbench_{uid}_w"
    s = requests.Session()
    td = {"name": task, "retryCount": 0, "ownerEmail": "bench@example.com", "responseTimeoutSeconds": 600}
    s.post(f"{api}/metadata/taskdefs", json=[td], timeout=30).raise_for_status()
    s.put(f"{api}/metadata/workflow", json=[definition(name, task)], timeout=30).raise_for_status()
    stop = threading.Event()
    counter, lock = [0], threading.Lock()
    pool = [threading.Thread(target=work, args=(api, task, stop, counter, lock), daemon=True) for _ in range(threads)]
    for th in pool:
        th.start()
    t0 = time.perf_counter()
    ids = [s.post(f"{api}/workflow/{name}", json={}, timeout=30).text for _ in range(workflows)]
    pending = set(ids)
    deadline = t0 + timeout
    while pending and time.perf_counter() < deadline:
        for wid in list(pending):
            doc = s.get(f"{api}/workflow/{wid}", params={"includeTasks": "false"}, timeout=30).json()
            if doc["status"] == "COMPLETED":
                pending.discard(wid)
            elif doc["status"] != "RUNNING":
                raise SystemExit(f"workflow {wid} ended {doc['status']}: {doc.get('reasonForIncompletion')}")
        time.sleep(0.02)
    elapsed = time.perf_counter() - t0
    stop.set()
    for th in pool:
        th.join(timeout=5)
    if pending:
        raise SystemExit(f"{len(pending)} workflows not done after {timeout:.0f} s on {api}")
    done = counter[0]
    print(
        f"  {workflows} workflows x 50 tasks ({done} worker tasks) in {elapsed:.2f} s: "
        f"{elapsed / workflows:.2f} s per workflow, {done / elapsed:,.0f} worker tasks/s"
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=5, help="workflows run concurrently (default 5)")
    parser.add_argument("--threads", type=int, default=4, help="worker threads (default 4)")
    parser.add_argument(
        "--oss-url",
        default=os.environ.get("SWIFT_CONDUCTOR_OSS_URL", "http://127.0.0.1:18332/api"),
        help="a running Conductor OSS 3.32.3 (default $SWIFT_CONDUCTOR_OSS_URL or 127.0.0.1:18332)",
    )
    parser.add_argument("--skip-oss", action="store_true", help="only the embedded server")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds per server")
    args = parser.parse_args()

    proc, api = start_embedded()
    try:
        print(f"embedded server ({api}):")
        embedded = run(api, args.workflows, args.threads, args.timeout)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if args.skip_oss:
        return
    print(f"Conductor OSS ({args.oss_url}):")
    oss = run(args.oss_url, args.workflows, args.threads, args.timeout)
    print(f"embedded is {oss / embedded:.1f}x faster than OSS on this workflow (same worker, same run)")


if __name__ == "__main__":
    main()
