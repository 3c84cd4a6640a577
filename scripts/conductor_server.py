#!/usr/bin/env python3
"""Fetch, start and stop the real Netflix Conductor 3.15.0 server (in-memory) for tests and benchmarks.

    scripts/conductor_server.py fetch            # download the boot jar with Maven into the cache, once
    scripts/conductor_server.py run [--port N]   # start it, print the API URL, stop on Ctrl-C / SIGTERM

The jar is cached in $SWIFT_CONDUCTOR_CACHE (default ~/.cache/swift-conductor). Needs Java 17+ and Maven.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import List, Optional

VERSION = "3.15.0"
ARTIFACT = f"com.netflix.conductor:conductor-server:{VERSION}:jar:boot"
JAR_NAME = f"conductor-server-{VERSION}-boot.jar"
START_TIMEOUT_S = float(os.environ.get("CONDUCTOR_SERVER_START_TIMEOUT", "180"))


class ServerUnavailable(RuntimeError):
    """Java or Maven is missing, the download failed, or the server did not come up."""


def cache_dir() -> Path:
    return Path(os.environ.get("SWIFT_CONDUCTOR_CACHE", Path.home() / ".cache" / "swift-conductor"))


def missing_tools() -> List[str]:
    return [tool for tool in ("java", "mvn") if shutil.which(tool) is None]


def fetch() -> Path:
    """The path of the boot jar, downloaded by Maven coordinates on first use."""
    jar = cache_dir() / "server" / JAR_NAME
    if jar.is_file() and jar.stat().st_size > 10_000_000:
        return jar
    if shutil.which("mvn") is None:
        raise ServerUnavailable("Maven (mvn) is not installed: cannot fetch " + ARTIFACT)
    jar.parent.mkdir(parents=True, exist_ok=True)
    cmd = ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}", f"-DoutputDirectory={jar.parent}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not jar.is_file():
        raise ServerUnavailable(f"fetching {ARTIFACT} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return jar


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ConductorServer:
    """A running server process; ``api_url`` is what a Configuration takes."""

    def __init__(self, port: Optional[int] = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.url + "/api"
        self.process: Optional[subprocess.Popen] = None
        self.log_path = Path(tempfile.gettempdir()) / f"conductor-server-{self.port}.log"
        self.startup_seconds = 0.0

    def start(self) -> ConductorServer:
        if shutil.which("java") is None:
            raise ServerUnavailable("Java is not installed: cannot run the Conductor server")
        jar = fetch()
        cmd = [
            "java",
            "-Xms256m",
            "-Xmx1g",
            "-jar",
            str(jar),
            "--conductor.db.type=memory",
            "--conductor.queue.type=memory",
            "--conductor.indexing.enabled=false",
            "--loadSample=false",
            "--conductor.app.ownerEmailMandatory=false",
            "--server.address=127.0.0.1",
            f"--server.port={self.port}",
        ]
        began = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        while time.monotonic() - began < START_TIMEOUT_S:
            if self.process.poll() is not None:
                raise ServerUnavailable(f"Conductor server exited with {self.process.returncode}; {self._tail()}")
            if self.healthy():
                self.startup_seconds = time.monotonic() - began
                return self
            time.sleep(0.5)
        self.stop()
        raise ServerUnavailable(f"Conductor server not healthy after {START_TIMEOUT_S:.0f} s; {self._tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self, timeout: float = 20.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

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
    sub.add_parser("fetch", help="download the server jar into the cache")
    run = sub.add_parser("run", help="start the server and wait for Ctrl-C / SIGTERM")
    run.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            print(fetch())
            return 0
        server = ConductorServer(args.port).start()
    except ServerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Conductor {VERSION} ready at {server.api_url} after {server.startup_seconds:.1f} s", flush=True)
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
