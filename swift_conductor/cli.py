"""``swift-conductor``: the command line.

swift-conductor devserver [--port 8080] [--host 127.0.0.1] [--time-control]   run the embedded server
swift-conductor run MODULE [MODULE ...] [--server URL]       run every @worker_task in those modules
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional


def _run(args: argparse.Namespace) -> int:
    from .automation.worker_host import WorkerHost
    from .configuration import Configuration
    from .worker.errors import WorkerConfigurationError

    sys.path.insert(0, ".")  # like `python -m`: modules of the current directory are importable
    try:
        configuration = Configuration(server_api_url=args.server, debug=args.debug)
        host = WorkerHost.from_registry(
            configuration, modules=args.modules, config_file=args.config, grace_period=args.grace_period
        )
    except (WorkerConfigurationError, ValueError, ImportError) as exc:
        print(f"swift-conductor run: {exc}", file=sys.stderr)
        return 2
    names = ", ".join(sorted(host.settings))
    print(f"swift-conductor: serving {names} from {configuration.server_api_url}; Ctrl-C to stop", flush=True)
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
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["devserver"]:
        from .devserver.__main__ import main as devserver_main

        return devserver_main(argv[1:])
    args = build_parser().parse_args(argv)
    # The command owns this process, so it may set up logging (the library itself never does at import).
    logging.basicConfig(format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    logging.getLogger("swift_conductor").setLevel(logging.DEBUG if args.debug else logging.INFO)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
