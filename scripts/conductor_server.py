#!/usr/bin/env python3
"""Fetch, start and stop a real Conductor server for tests and benchmarks.

Two flavors:

- ``netflix``: Netflix Conductor 3.15.0 (archived, widely deployed), in-memory, on Java 17+.
- ``oss``: Conductor OSS 3.32.3 (the maintained successor), SQLite state in a fresh directory per start, on Java 21+.

    scripts/conductor_server.py fetch [--flavor F]            # download the boot jar with Maven, once
    scripts/conductor_server.py run [--flavor F] [--port N]   # start it, print the API URL, stop on Ctrl-C / SIGTERM

Jars are cached in $SWIFT_CONDUCTOR_CACHE (default ~/.cache/swift-conductor). Needs Java and Maven.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

START_TIMEOUT_S = float(os.environ.get("CONDUCTOR_SERVER_START_TIMEOUT", "300"))


@dataclass(frozen=True)
class Flavor:
    name: str
    version: str
    artifact: str
    java_major: int  # the oldest Java that runs it

    @property
    def jar_name(self) -> str:
        return f"conductor-server-{self.version}-boot.jar"


FLAVORS: Dict[str, Flavor] = {
    "netflix": Flavor("netflix", "3.15.0", "com.netflix.conductor:conductor-server:3.15.0:jar:boot", 17),
    "oss": Flavor("oss", "3.32.3", "org.conductoross:conductor-server:3.32.3:jar:boot", 21),
}


class ServerUnavailable(RuntimeError):
    """Java or Maven is missing, the download failed, or the server did not come up."""


def cache_dir() -> Path:
    return Path(os.environ.get("SWIFT_CONDUCTOR_CACHE", Path.home() / ".cache" / "swift-conductor"))


def java_version(java: Path) -> Optional[int]:
    """The major version of a ``java`` binary, or None if it does not run."""
    try:
        done = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def java_candidates() -> List[Path]:
    """``$JAVA_HOME/bin/java``, the default ``java``, then the JVMs installed beside the default one."""
    found: List[Path] = []
    home = os.environ.get("JAVA_HOME")
    if home:
        found.append(Path(home) / "bin" / "java")
    default = shutil.which("java")
    if default:
        real = Path(default).resolve()
        found.append(real)
        jvm_root = real.parent.parent.parent  # .../jvm/<name>/bin/java -> .../jvm
        if jvm_root.is_dir():
            found.extend(sorted(p / "bin" / "java" for p in jvm_root.iterdir() if (p / "bin" / "java").is_file()))
    unique: List[Path] = []
    for candidate in found:
        if candidate.is_file() and candidate.resolve() not in [u.resolve() for u in unique]:
            unique.append(candidate)
    return unique


def find_java(min_major: int) -> Path:
    """The first Java of at least ``min_major`` (JAVA_HOME first, then the default, then its neighbours)."""
    seen: List[Tuple[Path, Optional[int]]] = []
    for candidate in java_candidates():
        major = java_version(candidate)
        seen.append((candidate, major))
        if major is not None and major >= min_major:
            return candidate
    tried = ", ".join(f"{path} ({major or '?'})" for path, major in seen) or "none found"
    raise ServerUnavailable(
        f"Java {min_major}+ is not installed (tried JAVA_HOME, java on PATH and its neighbours: {tried})"
    )


def missing_tools(flavor: str = "netflix") -> List[str]:
    """What is missing to fetch and run ``flavor``: names a user can act on."""
    missing = []
    try:
        find_java(FLAVORS[flavor].java_major)
    except ServerUnavailable:
        missing.append(f"Java {FLAVORS[flavor].java_major}+")
    jar = cache_dir() / "server" / FLAVORS[flavor].jar_name
    if not jar.is_file() and shutil.which("mvn") is None:
        missing.append("Maven (mvn)")
    return missing


def fetch(flavor: str = "netflix") -> Path:
    """The path of the flavor's boot jar, downloaded by Maven coordinates on first use."""
    spec = FLAVORS[flavor]
    jar = cache_dir() / "server" / spec.jar_name
    if jar.is_file() and jar.stat().st_size > 10_000_000:
        return jar
    if shutil.which("mvn") is None:
        raise ServerUnavailable("Maven (mvn) is not installed: cannot fetch " + spec.artifact)
    jar.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={spec.artifact}", f"-DoutputDirectory={jar.parent}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0 or not jar.is_file():
        raise ServerUnavailable(f"fetching {spec.artifact} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return jar


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ConductorServer:
    """A running server process; ``api_url`` is what a Configuration takes."""

    def __init__(self, port: Optional[int] = None, flavor: str = "netflix") -> None:
        if flavor not in FLAVORS:
            raise ValueError(f"unknown server flavor {flavor!r} (known: {', '.join(FLAVORS)})")
        self.flavor = FLAVORS[flavor]
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.url + "/api"
        self.process: Optional[subprocess.Popen] = None
        self.log_path = Path(tempfile.gettempdir()) / f"conductor-{flavor}-{self.port}.log"
        self.state_dir: Optional[Path] = None
        self.startup_seconds = 0.0
        self._began = 0.0

    def command(self, java: Path, jar: Path) -> List[str]:
        common = [
            str(java),
            "-Xms256m",
            "-Xmx1g",
            "-jar",
            str(jar),
            "--server.address=127.0.0.1",
            f"--server.port={self.port}",
        ]
        if self.flavor.name == "netflix":
            return [
                *common,
                "--conductor.db.type=memory",
                "--conductor.queue.type=memory",
                "--conductor.indexing.enabled=false",
                "--loadSample=false",
                "--conductor.app.ownerEmailMandatory=false",
            ]
        self.state_dir = Path(tempfile.mkdtemp(prefix="conductor-oss-state-"))
        db = self.state_dir / "conductor.db"
        return [
            *common,
            # All state in the fresh directory (the default is c123.db in the working directory).
            f"--spring.datasource.url=jdbc:sqlite:{db}?busy_timeout=15000&journal_mode=WAL",
            # Without it the AI system tasks (LLM, vector DB, document workers) and the agent runtime start too:
            # about 50% more start-up log and more system-task pollers on the SQLite queue.
            "--conductor.integrations.ai.enabled=false",
            # The AI model providers start regardless; keep their payload directory out of ~/worker-payload ...
            f"--conductor.file-storage.parentDir={self.state_dir / 'payload'}/",
            # ... and their "cannot init <provider> model, reason: API key must not be empty" ERROR lines out of
            # the log (no provider keys are configured, or needed, for a workflow server under test).
            "--logging.level.org.conductoross.conductor.ai.AIModelProvider=OFF",
        ]

    def launch(self) -> ConductorServer:
        """Start the process without waiting for it to be healthy (see :meth:`wait_healthy`)."""
        java = find_java(self.flavor.java_major)
        jar = fetch(self.flavor.name)
        cmd = self.command(java, jar)
        self._began = time.monotonic()
        try:
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            self.stop()  # removes the fresh state directory
            raise ServerUnavailable(f"cannot run {java}: {exc}") from exc
        return self

    def wait_healthy(self) -> ConductorServer:
        assert self.process is not None, "launch() first"
        while time.monotonic() - self._began < START_TIMEOUT_S:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()  # removes the fresh state directory
                raise ServerUnavailable(f"Conductor {self.flavor.version} exited with {code}; {self._tail()}")
            if self.healthy():
                self.startup_seconds = time.monotonic() - self._began
                return self
            time.sleep(0.5)
        self.stop()
        raise ServerUnavailable(
            f"Conductor {self.flavor.version} not healthy after {START_TIMEOUT_S:.0f} s; {self._tail()}"
        )

    def start(self) -> ConductorServer:
        return self.launch().wait_healthy()

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self, timeout: float = 20.0) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None

    def _tail(self) -> str:
        try:
            return "log tail:\n" + self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "no log"

    def __enter__(self) -> ConductorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch_cmd = sub.add_parser("fetch", help="download the server jar into the cache")
    fetch_cmd.add_argument("--flavor", choices=sorted(FLAVORS), default="netflix")
    run = sub.add_parser("run", help="start the server and wait for Ctrl-C / SIGTERM")
    run.add_argument("--flavor", choices=sorted(FLAVORS), default="netflix")
    run.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            print(fetch(args.flavor))
            return 0
        server = ConductorServer(args.port, args.flavor).start()
    except ServerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"Conductor {server.flavor.version} ready at {server.api_url} after {server.startup_seconds:.1f} s", flush=True
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
