"""Throughput and cost of no-op workers run by WorkerHost, on the embedded or the real server.

    python benchmarks/worker_bench.py --server embedded --tasks 3000
    python benchmarks/worker_bench.py --server real --tasks 3000       # starts Conductor 3.15.0 (Java)
    python benchmarks/worker_bench.py --server http://127.0.0.1:8080/api
    python benchmarks/worker_bench.py --tasks 2000 --metrics compare --rounds 3   # CPU with metrics on vs off

Tasks are queued first while the workers are paused (a flag file their paused() checks), so the measured
window is pure poll -> execute -> update. Prints tasks/s (from the server's own task start/end times), client
CPU per task (user+sys of the worker processes, idle cost subtracted) and RSS per worker process.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

from swift_conductor import (
    Configuration,
    MetadataClient,
    TaskClient,
    TaskDef,
    Worker,
    WorkerHost,
    WorkflowClient,
    WorkflowDef,
    WorkflowTask,
)

FLAG = Path(tempfile.gettempdir()) / f"worker-bench-paused-{os.getpid()}"
TICKS = os.sysconf("SC_CLK_TCK")


def noop(i: int = 0) -> dict:
    return {"i": i}


class GatedWorker(Worker):
    """A no-op function worker that stays paused while the flag file exists."""

    def __init__(self, name: str, flag: str, thread_count: int) -> None:
        super().__init__(name, noop, thread_count=thread_count, poll_interval=50)
        self.flag = flag

    def paused(self) -> bool:
        return os.path.exists(self.flag)


@contextlib.contextmanager
def server(kind: str) -> Iterator[str]:
    if kind.startswith("http"):
        yield kind
    elif kind == "embedded":
        process = subprocess.Popen(
            [sys.executable, "-m", "swift_conductor.devserver", "--port", "0"], stdout=subprocess.PIPE, text=True
        )
        assert process.stdout is not None
        line = process.stdout.readline()
        try:
            yield line.strip().rsplit(" ", 1)[-1]
        finally:
            process.terminate()
            process.wait(10)
    elif kind == "real":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
        from conductor_server import ConductorServer

        with ConductorServer() as real:
            yield real.api_url
    else:
        raise SystemExit(f"--server must be embedded, real or a URL, not {kind!r}")


def cpu_and_rss(pid: int) -> Tuple[float, int]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    rss_kb = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return cpu, rss_kb


def worker_pids(host: WorkerHost) -> List[int]:
    return host.pids


def run_once(config: Configuration, name: str, args: argparse.Namespace, metrics: bool) -> Dict[str, float]:
    """Queue the tasks while the workers are paused, then let them drain the queue; returns what was measured."""
    FLAG.touch()
    workers = [GatedWorker(name, str(FLAG), args.threads) for _ in range(args.processes)]
    host = WorkerHost(workers, config, log_level=None, metrics=metrics)
    host.start_processes()
    workflows = WorkflowClient(config)
    try:
        began = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda i: workflows.start_workflow(name, {"i": i}), range(args.tasks)))
        print(f"queued {args.tasks} workflows in {time.monotonic() - began:.1f} s")
        time.sleep(2)  # workers are up and idle (paused)
        pids = worker_pids(host)
        idle_a = [cpu_and_rss(p)[0] for p in pids]
        time.sleep(2)
        idle_b = [cpu_and_rss(p)[0] for p in pids]
        idle_rate = sum(b - a for a, b in zip(idle_a, idle_b)) / 2
        FLAG.unlink()
        start_cpu = sum(cpu_and_rss(p)[0] for p in pids)
        t0 = time.monotonic()
        tasks = TaskClient(config)
        while tasks.queue_sizes(name).get(name, 0) > 0:
            time.sleep(0.05)
        time.sleep(0.5)
        wall = time.monotonic() - t0
        stats = [cpu_and_rss(p) for p in pids]
        busy_cpu = sum(c for c, _ in stats) - start_cpu - idle_rate * wall
        page = host.metrics_text() if metrics else b""
    finally:
        FLAG.unlink(missing_ok=True)
        host.stop_processes()
    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda w: workflows.get_workflow(w), ids))
    completed = [w for w in done if w.status == "COMPLETED"]
    starts = [t.start_time for w in completed for t in w.tasks if t.start_time]
    ends = [t.end_time for w in completed for t in w.tasks if t.end_time]
    window = (max(ends) - min(starts)) / 1000 if starts and ends else float("nan")
    per_task = 1000 * busy_cpu / max(1, len(completed))
    print(f"metrics={'on' if metrics else 'off'} server={args.server} workers={args.processes}x{args.threads} threads")
    print(f"completed {len(completed)}/{args.tasks} tasks in {window:.2f} s (first start -> last end)")
    print(f"throughput: {len(completed) / window:.0f} tasks/s")
    print(f"client CPU: {per_task:.3f} ms per task (idle {1000 * idle_rate / max(1, len(pids)):.1f} ms/s per process)")
    print(f"RSS per worker process: {', '.join(f'{rss / 1024:.1f} MB' for _, rss in stats)}")
    if page:
        lines = [line for line in page.decode().splitlines() if line.startswith("conductor_worker_tasks_total")]
        print("metrics: " + "; ".join(lines))
    return {"cpu_ms": per_task, "completed": len(completed)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="embedded")
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=1, help="thread_count of each worker")
    parser.add_argument("--processes", type=int, default=1, help="worker processes for the task type")
    parser.add_argument(
        "--metrics",
        choices=("off", "on", "compare"),
        default="off",
        help="compare: alternate runs with metrics off and on, then print the CPU-per-task ratio",
    )
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs with --metrics compare")
    args = parser.parse_args()
    name = f"bench_noop_{os.getpid()}"
    with server(args.server) as url:
        config = Configuration(server_api_url=url, read_timeout=60)
        metadata = MetadataClient(config)
        metadata.register_task_defs([TaskDef(name=name, retry_count=0)])
        metadata.upsert_workflow_defs(
            [
                WorkflowDef(
                    name=name,
                    tasks=[
                        WorkflowTask(name=name, task_reference_name="t", input_parameters={"i": "${workflow.input.i}"})
                    ],
                )
            ]
        )
        if args.metrics != "compare":
            result = run_once(config, name, args, metrics=args.metrics == "on")
            return 0 if result["completed"] == args.tasks else 1
        off: List[float] = []
        on: List[float] = []
        ok = True
        for _ in range(args.rounds):
            for metrics, into in ((False, off), (True, on)):
                result = run_once(config, name, args, metrics)
                into.append(result["cpu_ms"])
                ok = ok and result["completed"] == args.tasks
        ratios = [b / a for a, b in zip(off, on)]
        print(f"client CPU per task, metrics off: {', '.join(f'{v:.3f}' for v in off)} ms")
        print(f"client CPU per task, metrics on:  {', '.join(f'{v:.3f}' for v in on)} ms")
        print(
            f"on/off ratio per round: {', '.join(f'{r:.3f}' for r in ratios)}; "
            f"of the means: {statistics.mean(on) / statistics.mean(off):.3f}"
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
