"""``swift-conductor``: the command line.

swift-conductor devserver [--port 8080] [--host 127.0.0.1] [--time-control]   run the embedded server
swift-conductor run MODULE [MODULE ...] [--server URL]       run every @worker_task in those modules

``run`` owns its process, so it sets up logging for every logger (the root logger), the library's and the
application's alike, in one format: ``--log-level`` (default ``$CONDUCTOR_LOG_LEVEL``, else INFO) for all of
them, ``--debug`` for DEBUG on the ``swift_conductor`` loggers only, ``--log-format json`` for log shippers.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import List, Optional


def _run(args: argparse.Namespace) -> int:
    from .automation import logs
    from .automation.worker_host import WorkerHost
    from .configuration import Configuration
    from .worker.errors import WorkerConfigurationError

    sys.path.insert(0, ".")  # like `python -m`: modules of the current directory are importable
    try:
        level = logs.parse_level(
            args.log_level or os.environ.get(logs.LOG_LEVEL_ENV) or "INFO",
            "--log-level" if args.log_level else f"environment variable {logs.LOG_LEVEL_ENV}",
        )
        style = logs.resolve_format(args.log_format)
    except ValueError as exc:
        print(f"swift-conductor run: {exc}", file=sys.stderr)
        return 2
    logs.configure_root(level, style)
    try:
        configuration = Configuration(server_api_url=args.server, debug=args.debug)
        host = WorkerHost.from_registry(
            configuration,
            modules=args.modules,
            config_file=args.config,
            grace_period=args.grace_period,
            log_level=logging.DEBUG if args.debug else level,
            log_format=style,
            http_port=args.http_port,
            http_host=args.http_host,
        )
    except (WorkerConfigurationError, ValueError, ImportError) as exc:
        print(f"swift-conductor run: {exc}", file=sys.stderr)
        return 2
    names = ", ".join(sorted(host.settings))
    banner = f"serving {names} from {configuration.server_api_url}; Ctrl-C to stop"
    if style == "json":
        logging.getLogger("swift_conductor.cli").info(banner)  # every line a JSON object, for log shippers
    else:
        print(f"swift-conductor: {banner}", flush=True)
    with host:
        host.start_processes()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="swift-conductor", description="Conductor task workers in Python.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("devserver", help="run the embedded Conductor-compatible server", add_help=False)
    run = sub.add_parser("run", help="run the @worker_task functions of some modules until Ctrl-C / SIGTERM")
    run.add_argument("modules", nargs="+", help="modules to import (dotted names, as for python -m)")
    run.add_argument("--server", default=None, help="server API URL (default $CONDUCTOR_SERVER_URL or localhost)")
    run.add_argument("--config", default=None, help="worker.ini path (default: next to the script, or cwd)")
    run.add_argument("--grace-period", type=float, default=30.0, help="seconds to finish tasks on stop")
    run.add_argument("--debug", action="store_true", help="DEBUG logging for swift_conductor loggers")
    run.add_argument("--log-level", default=None, help="level of every logger (default $CONDUCTOR_LOG_LEVEL or INFO)")
    run.add_argument(
        "--log-format", default=None, choices=("text", "json"), help="log line format (default $CONDUCTOR_LOG_FORMAT)"
    )
    run.add_argument(
        "--http-port",
        type=int,
        default=None,
        help="serve /healthz, /readyz and /metrics on this port (default $CONDUCTOR_WORKER_HTTP_PORT; off)",
    )
    run.add_argument("--http-host", default=None, help="address of that endpoint (default 127.0.0.1)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["devserver"]:
        from .devserver.__main__ import main as devserver_main

        return devserver_main(argv[1:])
    args = build_parser().parse_args(argv)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
