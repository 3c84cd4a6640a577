"""Our worker against conductor-python 2.0.0 (as shipped) and a raw ``http.client`` loop, same server, same run.

    python benchmarks/peer_bench.py --server embedded
    python benchmarks/peer_bench.py --server oss --oss-url http://127.0.0.1:18332/api   # a running OSS 3.32.3
    python benchmarks/peer_bench.py --server oss          # starts OSS 3.32.3 with scripts/conductor_server.py
    python benchmarks/peer_bench.py --server embedded --server oss --oss-url URL --tasks 3000
    python benchmarks/peer_bench.py --server embedded --clients raw,ours1 --per-thread   # where the CPU goes

Every client runs in its own process tree, started by this script (``--client`` mode of this file):
``raw`` (one connection, the calls our client makes on that server: batch poll + update-v2 where the server has
it, else batch poll + update), ``ours`` at 1 and 8 threads (WorkerHost, defaults otherwise) and ``cpy``
(conductor-python 2.0.0's TaskHandler with ``thread_count=8``, otherwise its defaults). Per client:

1. a fresh task type (``retryCount`` 0) and a one-task workflow; ``--tasks`` workflows are started *before* the
   client starts (through a control URL that is not counted);
2. the client starts and drains the queue. **tasks/s** = completed tasks / (last task endTime - first task
   startTime), from the server's own times. **client CPU per task** = user+sys of the client's whole process
   tree (``/proc/<pid>/stat`` of the client and its descendants, plus reaped children, sampled every 20 ms)
   between those two instants, divided by the tasks completed. **requests per task** = requests the client sent
   from its start to the drain's end / tasks completed, by kind (poll, update, update-v2, other);
3. the queue stays empty for ``--idle`` seconds: **idle requests/s** (one task type per client) and idle CPU;
4. ``--pickup`` workflows started one at a time, ``--spacing`` s apart, against the idle client: **pickup** =
   task startTime - scheduledTime (p50, p90).

Requests are counted where the client cannot see it: for the embedded server, the server process (``python
benchmarks/peer_bench.py --serve-embedded``, the devserver with a second, counting listener on the same engine)
counts in-process; for OSS, a counting TCP proxy in its own process (``--serve-proxy URL``) forwards to the
server. Neither is in the client's process tree, so neither is counted as client CPU. Every client of a server
goes through the same counter, so a proxy hop costs them all alike.

``--per-thread`` also prints, for the middle 80% of each drain, every client thread's CPU and context switches
per task (from ``/proc/<pid>/task/<tid>``): where a client's CPU goes when it costs more than the raw loop.

The machine is shared; read ratios within one table, and note the load average printed with it. On a 2-core
machine the client and the server share the CPUs, so a client's CPU per task also bounds its throughput.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple
from urllib.parse import urlsplit

TICKS = os.sysconf("SC_CLK_TCK")
HERE = Path(__file__).resolve()
KINDS = ("poll", "update", "update-v2", "other")


# ---------------------------------------------------------------------------------------------------- workers
def noop_ours(i: int = 0) -> Dict[str, Any]:
    return {"ok": True}


def noop_cpy(task: Any) -> Dict[str, Any]:
    return {"ok": True}


def wait_for_stdin_eof() -> None:
    """Clients run until the benchmark closes their stdin (no signal races with the libraries' own handlers)."""
    try:
        sys.stdin.read()
    except (OSError, ValueError):
        pass


def client_ours(url: str, task: str, threads: int) -> None:
    from swift_conductor import Configuration, Worker, WorkerHost

    host = WorkerHost([Worker(task, noop_ours, thread_count=threads)], Configuration(server_api_url=url))
    host.start_processes()
    print("started", flush=True)
    try:
        wait_for_stdin_eof()
    finally:
        host.stop_processes()


def client_cpy(url: str, task: str, threads: int) -> None:
    from conductor.client.automator.task_handler import TaskHandler  # type: ignore[import-untyped]
    from conductor.client.configuration.configuration import Configuration  # type: ignore[import-untyped]
    from conductor.client.worker.worker import Worker  # type: ignore[import-untyped]

    worker = Worker(task, noop_cpy, thread_count=threads)
    handler = TaskHandler(
        workers=[worker], configuration=Configuration(server_api_url=url), scan_for_annotated_workers=False
    )
    handler.start_processes()
    print("started", flush=True)
    try:
        wait_for_stdin_eof()
    finally:
        handler.stop_processes()


def client_raw(url: str, task: str, threads: int) -> None:
    """One keep-alive connection: batch poll, execute (nothing), report. Where the server has update-v2 the
    report is update-v2 and the task it returns is run next (no poll while busy); an empty poll that did not
    wait is followed by a one-task long poll (1000 ms), as our client does. Elsewhere: batch poll + update.
    ``threads`` > 1 runs that many such loops, each on its own connection (to see what concurrency does)."""
    stop = threading.Event()
    loops = [threading.Thread(target=_raw_loop, args=(url, task, stop), daemon=True) for _ in range(threads)]
    for loop in loops:
        loop.start()
    print("started", flush=True)
    wait_for_stdin_eof()
    stop.set()
    for loop in loops:
        loop.join(5)


def _raw_loop(url: str, task: str, stop: threading.Event) -> None:
    parts = urlsplit(url)
    base = parts.path.rstrip("/")
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}

    def call(method: str, path: str, body: Optional[bytes] = None) -> Tuple[int, bytes]:
        conn.request(method, base + path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()

    def result(t: Dict[str, Any]) -> bytes:
        return json.dumps(
            {
                "taskId": t["taskId"],
                "workflowInstanceId": t["workflowInstanceId"],
                "workerId": "raw",
                "status": "COMPLETED",
                "outputData": {"ok": True},
            }
        ).encode()

    v2: Optional[bool] = None
    waited = False
    pending: List[Dict[str, Any]] = []
    while not stop.is_set():
        if not pending:
            if v2 is False:
                count, timeout = 32, 100
            else:
                count, timeout = (1, 1000) if waited else (1, 0)
            status, body = call("GET", f"/tasks/poll/batch/{task}?count={count}&timeout={timeout}&workerid=raw")
            pending = json.loads(body) if status == 200 and body else []
            waited = not pending
            continue
        t = pending.pop()
        if v2 is not False:
            status, body = call("POST", "/tasks/update-v2", result(t))
            if status == 200:
                v2 = True
                if body:
                    pending.append(json.loads(body))
                continue
            if status == 204:
                v2 = True
                continue
            if status in (404, 405) or (status == 500 and b"not supported" in body):
                v2 = False  # nothing was applied: report it again by v1
            else:
                raise SystemExit(f"update-v2 answered {status}: {body[:200]!r}")
        status, body = call("POST", "/tasks", result(t))
        if status != 200:
            raise SystemExit(f"update answered {status}: {body[:200]!r}")


CLIENTS = {"ours": client_ours, "cpy": client_cpy, "raw": client_raw}


# ------------------------------------------------------------------------------------------ request counters
def kind_of(method: str, target: str) -> str:
    path = target.split("?", 1)[0].rstrip("/")
    if "/tasks/poll" in path:
        return "poll"
    if method == "POST" and path.endswith("/tasks/update-v2"):
        return "update-v2"
    if method == "POST" and path.endswith("/tasks"):
        return "update"
    return "other"


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Dict[str, int] = {k: 0 for k in KINDS}
        self.other: Dict[str, int] = {}

    def add(self, method: str, target: str) -> None:
        kind = kind_of(method, target)
        with self.lock:
            self.counts[kind] += 1
            if kind == "other":
                key = method + " " + "/".join(target.split("?", 1)[0].split("/")[:4])
                self.other[key] = self.other.get(key, 0) + 1

    def serve_commands(self) -> None:
        """stdin 'counts' -> one JSON line on stdout; EOF ends the process."""
        for line in sys.stdin:
            if line.strip() == "counts":
                with self.lock:
                    print(json.dumps({"counts": self.counts, "other": self.other}), flush=True)


def serve_embedded(delay_ms: float = 0.0) -> None:
    """The devserver with two listeners on one engine: a control one (not counted) and a counted one.

    ``delay_ms`` > 0 makes the counted listener a server-bound one: every poll and update waits its turn
    behind one lock and takes that long before it is handled, as on a server whose store takes every write in
    turn (OSS on SQLite here: about 25 ms a call). Clients then run at that server's pace, not their own."""
    from swift_conductor.devserver.http import DevHTTPServer
    from swift_conductor.devserver.routes import Api
    from swift_conductor.devserver.server import EmbeddedServer

    counter = Counter()
    turn = threading.Lock()

    class CountingApi:
        def __init__(self, api: Api) -> None:
            self.api = api

        def dispatch(self, method: str, target: str, content_type: Optional[str], body: bytes) -> Any:
            counter.add(method, target)
            if delay_ms > 0 and kind_of(method, target) != "other":
                with turn:
                    time.sleep(delay_ms / 1000)
            return self.api.dispatch(method, target, content_type, body)

    server = EmbeddedServer(port=0).start()
    counted = DevHTTPServer(("127.0.0.1", 0), CountingApi(Api(server.engine)))  # type: ignore[arg-type]
    threading.Thread(target=counted.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    print(f"CONTROL {server.api_url} COUNTED http://127.0.0.1:{counted.server_address[1]}/api", flush=True)
    counter.serve_commands()
    counted.shutdown()
    server.stop()


def serve_proxy(upstream: str) -> None:
    """A TCP relay that parses the client->server byte stream just enough to count requests."""
    parts = urlsplit(upstream)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    counter = Counter()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def relay(client: socket.socket) -> None:
        try:
            server = socket.create_connection(address, timeout=None)
        except OSError:
            client.close()
            return
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        back = threading.Thread(target=pipe, args=(server, client), daemon=True)
        back.start()
        buf = b""
        body_left = 0
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                server.sendall(data)
                buf += data
                while True:
                    if body_left:
                        used = min(body_left, len(buf))
                        buf = buf[used:]
                        body_left -= used
                        if body_left:
                            break
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        break
                    head = buf[:end].decode("latin-1").split("\r\n")
                    buf = buf[end + 4 :]
                    request_line = head[0].split()
                    if len(request_line) >= 2:
                        counter.add(request_line[0], request_line[1])
                    for h in head[1:]:
                        name, _, value = h.partition(":")
                        if name.strip().lower() == "content-length":
                            body_left = int(value.strip())
        except OSError:
            pass
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)
        back.join()
        client.close()
        server.close()

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=relay, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print(f"CONTROL {upstream} COUNTED http://127.0.0.1:{listener.getsockname()[1]}{parts.path}", flush=True)
    counter.serve_commands()


class Endpoint:
    """A counting endpoint in its own process: ``control`` is not counted, ``counted`` is what clients use."""

    def __init__(self, args: List[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().split()
        if len(line) != 4:
            self.process.kill()
            raise SystemExit(f"counting endpoint did not start: {line}")
        self.control, self.counted = line[1], line[3]

    def counts(self) -> Dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("counts\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())  # type: ignore[no-any-return]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def diff(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, int]:
    return {k: b["counts"][k] - a["counts"][k] for k in KINDS}


# ------------------------------------------------------------------------------------------ client CPU (tree)
def _stat(pid: int) -> Optional[Tuple[int, float]]:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / TICKS  # ppid, utime+stime+cutime+cstime


def descendants(root: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                children.setdefault(st[0], []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


class TreeSampler:
    """Samples the CPU seconds of a process tree every ``period`` s (the tree is re-listed every second)."""

    def __init__(self, root: int, period: float = 0.02) -> None:
        self.root = root
        self.period = period
        self.samples: List[Tuple[float, float]] = []
        self.pids = [root]
        self._stop = threading.Event()
        self._relist = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def relist(self) -> None:
        self._relist.set()

    def _run(self) -> None:
        listed = 0.0
        while not self._stop.is_set():
            now = time.time()
            if now - listed > 1.0 or self._relist.is_set():
                self._relist.clear()
                self.pids = descendants(self.root)
                listed = now
            total = 0.0
            for pid in self.pids:
                st = _stat(pid)
                if st is not None:
                    total += st[1]
            self.samples.append((time.time(), total))
            self._stop.wait(self.period)

    def at(self, t: float) -> float:
        """CPU seconds of the tree at wall time ``t`` (linear between samples)."""
        s = self.samples
        if not s:
            return float("nan")
        if t <= s[0][0]:
            return s[0][1]
        for (t0, c0), (t1, c1) in zip(s, s[1:]):
            if t0 <= t <= t1:
                return c0 + (c1 - c0) * ((t - t0) / (t1 - t0) if t1 > t0 else 0)
        return s[-1][1]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def thread_stats(pids: List[int]) -> Dict[Tuple[int, int], Tuple[float, int, int]]:
    """(pid, tid) -> (CPU s, voluntary, involuntary context switches) of every thread of ``pids``."""
    out: Dict[Tuple[int, int], Tuple[float, int, int]] = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
                status = Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines()
            except OSError:
                continue
            switches = {
                k: int(v) for k, _, v in (line.partition(":\t") for line in status) if k.endswith("ctxt_switches")
            }
            out[(pid, int(tid))] = (
                (int(fields[11]) + int(fields[12])) / TICKS,
                switches.get("voluntary_ctxt_switches", 0),
                switches.get("nonvoluntary_ctxt_switches", 0),
            )
    return out


def print_thread_stats(label: str, tasks: int, a: Dict[Any, Tuple[float, int, int]], b: Dict[Any, Any]) -> None:
    """Per thread: CPU ms and context switches per task over the middle of the drain (``--per-thread``)."""
    rows = [(key, b[key][0] - a[key][0], b[key][1] - a[key][1], b[key][2] - a[key][2]) for key in b if key in a]
    rows.sort(key=lambda r: -r[1])
    print(f"  [{label}] per thread over {tasks} tasks (ms CPU/task, voluntary/involuntary switches per task):")
    for (pid, tid), cpu, vol, inv in rows:
        if cpu > 0 or vol > tasks / 10:
            print(f"      pid {pid} tid {tid}: {1000 * cpu / tasks:.3f} ms, {vol / tasks:.2f} / {inv / tasks:.2f}")
    total = sum(r[1] for r in rows)
    vol_total = sum(r[2] for r in rows)
    print(f"      all threads: {1000 * total / tasks:.3f} ms, {vol_total / tasks:.2f} voluntary switches per task")


# --------------------------------------------------------------------------------------- the server (control)
def _stale(sock: socket.socket) -> bool:
    """An idle keep-alive connection the server has closed is readable (EOF): do not send on it."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class Busy(Exception):
    pass


class Control:
    """Calls of the benchmark itself, on the uncounted URL."""

    def __init__(self, api: str) -> None:
        self.api = api.rstrip("/")
        self.local = threading.local()

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """One call; OSS's SQLite answers a busy moment with a 500 'database is locked': wait and ask again."""
        for attempt in range(20):
            try:
                return self._call(method, path, body)
            except Busy:
                time.sleep(0.05 * (attempt + 1))
            except (http.client.RemoteDisconnected, ConnectionError):
                self.local.conn = None  # the server closed a keep-alive connection that sat idle: reconnect
        return self._call(method, path, body)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            parts = urlsplit(self.api)
            conn = self.local.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        data = None if body is None else json.dumps(body).encode()
        if conn.sock is not None and _stale(conn.sock):
            conn.close()
        conn.request(method, urlsplit(self.api).path + path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        if response.status == 500 and b"SQLITE_BUSY" in raw:
            raise Busy(raw.decode(errors="replace"))
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {raw[:300]!r}")
        text = raw.decode()
        return json.loads(text) if text.strip()[:1] in ("{", "[", '"') else text

    def define(self, name: str) -> None:
        self.call("POST", "/metadata/taskdefs", [{"name": name, "retryCount": 0, "ownerEmail": "bench@example.com"}])
        self.call(
            "PUT",
            "/metadata/workflow",
            [
                {
                    "name": name,
                    "version": 1,
                    "schemaVersion": 2,
                    "ownerEmail": "bench@example.com",
                    "tasks": [
                        {
                            "name": name,
                            "taskReferenceName": "t",
                            "type": "SIMPLE",
                            "inputParameters": {"i": "${workflow.input.i}"},
                        }
                    ],
                }
            ],
        )

    def start(self, name: str, i: int) -> str:
        return str(self.call("POST", f"/workflow/{name}", {"i": i}))

    def queue_size(self, name: str) -> int:
        return int(self.call("GET", f"/tasks/queue/sizes?taskType={name}").get(name, 0))

    def workflows(self, ids: List[str]) -> List[Dict[str, Any]]:
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(lambda w: self.call("GET", f"/workflow/{w}?includeTasks=true"), ids))


# ------------------------------------------------------------------------------------------------ one client
def pct(values: List[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def measure(
    label: str, kind: str, threads: int, endpoint: Endpoint, control: Control, args: argparse.Namespace
) -> Dict[str, Any]:
    name = f"peer_{label.replace(' ', '_')}_{uuid.uuid4().hex[:6]}"
    control.define(name)
    began = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda i: control.start(name, i), range(args.tasks)))
    print(f"  [{label}] queued {len(ids)} workflows in {time.monotonic() - began:.1f} s", flush=True)
    log = open(Path(args.log_dir) / f"{name}.log", "w")
    before = endpoint.counts()
    client = subprocess.Popen(
        [
            sys.executable,
            str(HERE),
            "--client",
            kind,
            "--url",
            endpoint.counted,
            "--task",
            name,
            "--threads",
            str(threads),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = threading.Event()

    def copy_output() -> None:
        assert client.stdout is not None
        for line in client.stdout:
            log.write(line)
            if line.strip() == "started":
                started.set()
        started.set()

    copier = threading.Thread(target=copy_output, daemon=True)
    copier.start()
    sampler = TreeSampler(client.pid)
    # The client has forked its processes once it says "started": list its tree now, so that no child's
    # start-up CPU lands in the measured window when the tree is next listed.
    started.wait(60)
    if client.poll() is not None:  # it crashed at start-up (not installed, say): measuring it would mean nothing
        copier.join(10)
        sampler.close()
        log.close()
        raise SystemExit(f"[{label}] client exited with {client.returncode} before it started; see {log.name}")
    sampler.relist()
    row: Dict[str, Any] = {"label": label}
    marks: List[Tuple[int, Dict[Tuple[int, int], Tuple[float, int, int]]]] = []
    try:
        deadline = time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline:
            size = control.queue_size(name)
            if args.per_thread and len(marks) < 2 and size <= args.tasks * (0.9 if not marks else 0.1):
                marks.append((size, thread_stats(sampler.pids)))  # the middle 80% of the drain
            if size == 0:
                break
            time.sleep(0.1)
        time.sleep(1.0)  # the last tasks polled are reported
        drained = endpoint.counts()
        row["requests"] = diff(before, drained)
        if kind != "raw" or args.raw_idle:
            idle_cpu0 = sampler.at(time.time())
            idle0 = endpoint.counts()
            time.sleep(args.idle)
            row["idle_rps"] = sum(diff(idle0, endpoint.counts()).values()) / args.idle
            row["idle_cpu_ms_s"] = 1000 * (sampler.at(time.time()) - idle_cpu0) / args.idle
            picks = []
            for i in range(args.pickup):
                picks.append(control.start(name, -1 - i))
                time.sleep(args.spacing)
            time.sleep(1.0)
            lat = []
            for w in control.workflows(picks):
                for t in w.get("tasks", []):
                    if t.get("startTime") and t.get("scheduledTime"):
                        lat.append(float(t["startTime"] - t["scheduledTime"]))
            row["pickup"] = lat
    finally:
        assert client.stdin is not None
        client.stdin.close()
        try:
            client.wait(60)
        except subprocess.TimeoutExpired:
            print(f"  [{label}] client did not stop in 60 s; killing its process group members", flush=True)
            for pid in reversed(descendants(client.pid)):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            client.wait()
        sampler.close()
        copier.join(10)
        log.close()
    done = control.workflows(ids)
    tasks = [t for w in done for t in w.get("tasks", []) if t.get("status") == "COMPLETED"]
    row["completed"] = len(tasks)
    if tasks:
        first = min(t["startTime"] for t in tasks) / 1000
        last = max(t["endTime"] for t in tasks) / 1000
        row["window"] = last - first
        row["tps"] = len(tasks) / (last - first) if last > first else float("nan")
        row["cpu_ms"] = 1000 * (sampler.at(last) - sampler.at(first)) / len(tasks)
        row["req_per_task"] = sum(row["requests"].values()) / len(tasks)
    row["load"] = Path("/proc/loadavg").read_text().split()[:3]
    print(f"  [{label}] {summary(row)}", flush=True)
    if len(marks) == 2 and marks[0][0] > marks[1][0]:
        print_thread_stats(label, marks[0][0] - marks[1][0], marks[0][1], marks[1][1])
    return row


def summary(row: Dict[str, Any]) -> str:
    return (
        f"completed {row.get('completed')} tps {row.get('tps', float('nan')):.0f} "
        f"cpu {row.get('cpu_ms', float('nan')):.3f} ms/task req/task {row.get('req_per_task', float('nan')):.3f} "
        f"{row.get('requests')} idle {row.get('idle_rps', float('nan')):.2f} req/s "
        f"pickup p50 {pct(row.get('pickup', []), 0.5):.0f} ms load {' '.join(row['load'])}"
    )


# ----------------------------------------------------------------------------------------------- the report
def table(server: str, rows: List[Dict[str, Any]], tasks: int) -> str:
    nan = float("nan")
    out = [
        f"\n== {server}: {tasks} no-op tasks queued before each client starts ==",
        f"{'client':<22}{'done':>6}{'tasks/s':>9}{'CPU ms/task':>13}{'req/task':>10}  {'poll/upd/v2/other':<20}"
        f"{'idle req/s':>11}{'idle CPU ms/s':>14}{'pickup p50/p90 ms':>19}  load",
    ]
    for r in rows:
        q = r.get("requests", {})
        pick = r.get("pickup")
        out.append(
            f"{r['label']:<22}{r.get('completed', 0):>6}{r.get('tps', nan):>9.0f}{r.get('cpu_ms', nan):>13.3f}"
            f"{r.get('req_per_task', nan):>10.3f}  {'/'.join(str(q.get(k, 0)) for k in KINDS):<20}"
            f"{r.get('idle_rps', nan):>11.2f}{r.get('idle_cpu_ms_s', nan):>14.1f}"
            f"{(f'{pct(pick, 0.5):.0f}/{pct(pick, 0.9):.0f}' if pick else '-'):>19}  {' '.join(r['load'])}"
        )
    by = {r["label"]: r for r in rows}
    raw, one, eight, cpy = (by.get(k, {}) for k in ("raw loop", "ours 1 thread", "ours 8 threads", "cpy 8 threads"))

    def check(text: str, value: float, ok: bool) -> str:
        return f"  {text:<62} {value:>8.3f}  {'met' if ok else 'MISSED'}"

    out.append("targets (issue 8):")
    v = eight.get("req_per_task", nan)
    out.append(check("requests per task, ours 8 threads (<= 1.05)", v, v <= 1.05))
    for r in (one, eight):
        v = r.get("cpu_ms", nan) / raw.get("cpu_ms", nan)
        out.append(check(f"client CPU/task, {r.get('label')} / raw loop (<= 1.25)", v, v <= 1.25))
    if server == "embedded":
        v = eight.get("tps", nan) / cpy.get("tps", nan)
        out.append(check("tasks/s, ours 8 threads / conductor-python 8 threads (>= 2)", v, v >= 2))
    else:
        v = eight.get("tps", nan) / raw.get("tps", nan)
        out.append(check("tasks/s, ours 8 threads / raw loop (>= 0.95)", v, v >= 0.95))
    for r in (one, eight):
        v = r.get("idle_rps", nan)
        out.append(check(f"idle requests/s per task type, {r.get('label')} (<= 1)", v, v <= 1))
    limit = 10 if server == "embedded" else 150
    for r in (one, eight):
        v = pct(r.get("pickup", []), 0.5)
        out.append(check(f"idle pickup p50 ms, {r.get('label')} (<= {limit})", v, v <= limit))
    tps_ratio = eight.get("tps", nan) / cpy.get("tps", nan)
    cpu_ratio = eight.get("cpu_ms", nan) / cpy.get("cpu_ms", nan)
    out.append(f"for reference: ours 8 threads / cpy 8 threads: tasks/s {tps_ratio:.2f}, CPU/task {cpu_ratio:.2f}")
    return "\n".join(out)


def spread(server: str, rounds: List[List[Dict[str, Any]]]) -> str:
    """Per client, its CPU/task and tasks/s against the raw loop's in the same round: min, median, max. On a
    shared machine one round's ratio can be off by a third either way; the spread says how far to trust it."""
    out = [
        f"\n== {server}: ratios to the raw loop of the same round, over {len(rounds)} rounds (min / median / max) =="
    ]
    labels = [r["label"] for r in rounds[0] if r["label"] != "raw loop"]
    for label in labels:
        for key, what in (("cpu_ms", "CPU/task"), ("tps", "tasks/s")):
            values = sorted(
                by[label].get(key, float("nan")) / by["raw loop"].get(key, float("nan"))
                for by in ({r["label"]: r for r in rows} for rows in rounds)
                if "raw loop" in by and label in by
            )
            if values:
                out.append(f"  {label:<22}{what:<10}{values[0]:>8.2f} /{pct(values, 0.5):>6.2f} /{values[-1]:>6.2f}")
    return "\n".join(out)


@contextlib.contextmanager
def endpoint_for(server: str, args: argparse.Namespace) -> Iterator[Endpoint]:
    if server == "embedded":
        ep = Endpoint(["--serve-embedded", "--embedded-delay-ms", str(args.embedded_delay_ms)])
        try:
            yield ep
        finally:
            ep.close()
        return
    if args.oss_url:
        ep = Endpoint(["--serve-proxy", args.oss_url])
        try:
            yield ep
        finally:
            ep.close()
        return
    sys.path.insert(0, str(HERE.parent.parent / "scripts"))
    from conductor_server import ConductorServer  # type: ignore[import-not-found]

    with ConductorServer(flavor="oss") as real:
        ep = Endpoint(["--serve-proxy", real.api_url])
        try:
            yield ep
        finally:
            ep.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", action="append", choices=("embedded", "oss"), help="repeatable; default both")
    parser.add_argument("--oss-url", help="a running Conductor OSS 3.32.3 API URL (else one is started)")
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument(
        "--embedded-delay-ms",
        type=float,
        default=0.0,
        help="make the embedded server server-bound: each poll and update takes this long, one at a time",
    )
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of empty queue for idle requests/s")
    parser.add_argument("--pickup", type=int, default=20, help="workflows started one at a time for pickup latency")
    parser.add_argument("--spacing", type=float, default=0.5, help="seconds between those workflows")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--raw-idle", action="store_true", help="measure idle and pickup for the raw loop too")
    parser.add_argument(
        "--per-thread", action="store_true", help="also print each client thread's CPU and context switches per task"
    )
    parser.add_argument("--clients", default="raw,ours1,ours8,cpy8", help="which clients, in this order")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of all the clients on one server; > 1 adds the ratios' spread"
    )
    parser.add_argument("--log-dir", default=os.environ.get("TMPDIR", "/tmp"), help="client logs go here")
    # internal modes: this file is also the clients and the counting endpoints
    parser.add_argument("--client", choices=sorted(CLIENTS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--serve-embedded", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-proxy", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        CLIENTS[args.client](args.url, args.task, args.threads)
        return 0
    if args.serve_embedded:
        serve_embedded(args.embedded_delay_ms)
        return 0
    if args.serve_proxy:
        serve_proxy(args.serve_proxy)
        return 0

    plan = {
        "raw": ("raw loop", "raw", 1),
        "raw4": ("raw 4 loops", "raw", 4),
        "ours1": ("ours 1 thread", "ours", 1),
        "ours8": ("ours 8 threads", "ours", 8),
        "cpy8": ("cpy 8 threads", "cpy", 8),
    }
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    if args.embedded_delay_ms < 0:
        parser.error(f"--embedded-delay-ms must be 0 or more, got {args.embedded_delay_ms}")
    names = [c.strip() for c in args.clients.split(",") if c.strip()]
    unknown = [name for name in names if name not in plan]
    if unknown or not names:
        given = ", ".join(unknown) or "(none given)"
        print(f"--clients: unknown {given}; choose from {', '.join(plan)}", file=sys.stderr)
        return 2
    chosen = [plan[name] for name in names]
    tables = []
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load {Path('/proc/loadavg').read_text().strip()}")
    for server in args.server or ["embedded", "oss"]:
        print(f"{server}:", flush=True)
        rounds = []
        with endpoint_for(server, args) as endpoint:
            control = Control(endpoint.control)
            for _ in range(args.repeat):
                rows = [measure(label, kind, threads, endpoint, control, args) for label, kind, threads in chosen]
                rounds.append(rows)
                tables.append(table(server, rows, args.tasks))
                print(tables[-1], flush=True)
        if len(rounds) > 1:
            tables.append(spread(server, rounds))
            print(tables[-1], flush=True)
    print("\n".join(tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
