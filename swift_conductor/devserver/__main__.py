"""``python -m swift_conductor.devserver``: run the embedded server in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType
from typing import List, Optional

from .server import EmbeddedServer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swift-conductor devserver",
        description="Run an in-memory, Conductor-compatible server (for development and tests).",
    )
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (0 picks a free one; default 8080)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--time-control",
        action="store_true",
        help="let tests move the server clock (POST /api/test/clock/advance?seconds=N); off by default",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level of the swift_conductor.devserver logger (default WARNING)",
    )
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: returns 0 after a clean stop on SIGINT/SIGTERM; argparse exits 2 on bad arguments."""
    args = build_parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        build_parser().error(f"argument --port: {args.port} is not a valid port")
    log = logging.getLogger("swift_conductor.devserver")
    log.setLevel(args.log_level)
    if not log.handlers:
        # The CLI owns this process, so giving the package logger a handler here does not touch root logging.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)

    stop = threading.Event()

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = EmbeddedServer(port=args.port, host=args.host, time_control=args.time_control)
    try:
        try:
            server.start()
        except OSError as exc:
            print(f"swift-conductor devserver: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        print(f"swift-conductor devserver ready at {server.api_url}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
    return 0


if __name__ == "__main__":
    sys.exit(main())
