"""Throughput and long-poll wake-up latency of the embedded server (a script that prints numbers).

    python benchmarks/devserver_bench.py [--workflows 5000] [--clients 2] [--batch 32] [--latency-samples 200]

The server runs in its own process (``python -m swift_conductor.devserver --port 0``), as users run it.
Throughput: start N one-task workflows, then ``--clients`` processes drain the queue with batch poll + update
over keep-alive ``requests`` sessions; completed tasks per second is N over the drain time.
Latency: a long poll (timeout 5000 ms) waits on an empty queue; a workflow is started; we time from just
before the start call to the poll's return (start request + wake-up + delivery).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, List, Tuple

import requests

TASK = "bench_" + uuid.uuid4().hex[:6]


def start_server() -> Tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "swift_conductor.devserver", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "ready at" not in line:
        proc.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[-1].strip()


def setup(api: str, name: str) -> None:
    s = requests.Session()
    s.post(f"{api}/metadata/taskdefs", json=[{"name": name, "retryCount": 0}], timeout=10).raise_for_status()
    wf = {
        "name": name,
        "version": 1,
        "schemaVersion": 2,
        "tasks": [
            {"name": name, "taskReferenceName": "t", "type": "SIMPLE", "inputParameters": {"i": "${workflow.input.i}"}}
        ],
    }
    s.put(f"{api}/metadata/workflow", json=[wf], timeout=10).raise_for_status()


def start_workflows(api: str, name: str, count: int) -> None:
    s = requests.Session()
    for i in range(count):
        s.post(f"{api}/workflow/{name}", json={"i": i}, timeout=10).raise_for_status()


def drain(api: str, name: str, batch: int, go: Any, done: Any) -> None:
    """Wait for ``go``, then poll and complete until the queue stays empty; report (count, last completion)."""
    s = requests.Session()
    s.get(f"{api}/tasks/queue/sizes", params={"taskType": name}, timeout=10)  # open the connection first
    go.wait()
    completed = 0
    last = time.time()
    empty = 0
    while empty < 2:
        tasks = s.get(
            f"{api}/tasks/poll/batch/{name}",
            params={"count": str(batch), "timeout": "200", "workerid": "b"},
            timeout=10,
        ).json()
        if not tasks:
            empty += 1
            continue
        empty = 0
        for t in tasks:
            body = {
                "taskId": t["taskId"],
                "workflowInstanceId": t["workflowInstanceId"],
                "status": "COMPLETED",
                "outputData": {"ok": True},
            }
            s.post(f"{api}/tasks", json=body, timeout=10).raise_for_status()
            completed += 1
        last = time.time()
    done.put((completed, last))


def throughput(api: str, workflows: int, clients: int, batch: int) -> None:
    name = TASK + "_tp"
    setup(api, name)
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    done = ctx.Queue()
    procs = [ctx.Process(target=drain, args=(api, name, batch, go, done)) for _ in range(clients)]
    for p in procs:
        p.start()  # spawned now, so interpreter start-up is not timed
    t0 = time.perf_counter()
    per = workflows // clients
    starters = [threading.Thread(target=start_workflows, args=(api, name, per)) for _ in range(clients)]
    for th in starters:
        th.start()
    for th in starters:
        th.join()
    started = per * clients
    t_start = time.perf_counter() - t0
    print(f"started {started} workflows in {t_start:.2f} s ({started / t_start:,.0f} starts/s, {clients} threads)")
    time.sleep(1.0)  # let the drainers finish importing and connecting
    t_go = time.time()
    go.set()
    results = [done.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    total = sum(count for count, _ in results)
    elapsed = max(last for _, last in results) - t_go
    print(
        f"completed {total} tasks in {elapsed:.2f} s: {total / elapsed:,.0f} tasks/s "
        f"({clients} client processes, batch poll count={batch} + one update per task)"
    )


def _latency_sample(api: str, name: str, poller: requests.Session, starter: requests.Session) -> float:
    """Milliseconds from starting a workflow to a waiting long poll returning its task."""
    delivered: List[float] = []
    polling = threading.Event()
    started = threading.Event()

    def wait() -> None:
        polling.set()
        r = poller.get(f"{api}/tasks/poll/batch/{name}", params={"count": 1, "timeout": 5000}, timeout=10)
        delivered.append(time.perf_counter())
        started.wait()
        for t in r.json():
            body = {"taskId": t["taskId"], "workflowInstanceId": t["workflowInstanceId"], "status": "COMPLETED"}
            poller.post(f"{api}/tasks", json=body, timeout=10)

    thread = threading.Thread(target=wait)
    thread.start()
    polling.wait()
    time.sleep(0.02)  # let the poll reach the server and block
    t0 = time.perf_counter()
    starter.post(f"{api}/workflow/{name}", json={}, timeout=10).raise_for_status()
    started.set()
    thread.join()
    return (delivered[0] - t0) * 1000


def latency(api: str, samples: int) -> None:
    name = TASK + "_lat"
    setup(api, name)
    poller = requests.Session()
    starter = requests.Session()
    poller.get(f"{api}/tasks/poll/batch/{name}", params={"count": 1, "timeout": 1}, timeout=10)  # warm connections
    starter.get(f"{api}/tasks/queue/sizes", params={"taskType": name}, timeout=10)
    results = sorted(_latency_sample(api, name, poller, starter) for _ in range(samples))

    def pct(p: float) -> float:
        return results[min(len(results) - 1, int(p * len(results)))]

    print(
        f"start -> long-poll delivery over {samples} samples: p50 {pct(0.5):.2f} ms, p90 {pct(0.9):.2f} ms, "
        f"p99 {pct(0.99):.2f} ms, mean {statistics.mean(results):.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workflows", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--url", help="benchmark a server that is already running (API URL) instead of starting one")
    args = parser.parse_args()
    proc = None
    if args.url:
        api = args.url.rstrip("/")
    else:
        proc, api = start_server()
    print(f"server {api}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs")
    try:
        throughput(api, args.workflows, args.clients, args.batch)
        latency(api, args.latency_samples)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
