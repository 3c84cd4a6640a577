"""Shared plumbing of the examples: a server to talk to, a workflow to run, and a printout.

Each example runs with one command. With no server given it starts the embedded server in-process; pass
``--server http://host:8080/api`` (or set CONDUCTOR_SERVER_URL) to use a real Conductor instead. By default it
starts a few workflows, prints them once they complete, and stops the workers; ``--serve`` keeps serving until
Ctrl-C instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

from swift_conductor import Configuration, MetadataClient, TaskDef, WorkerHost, WorkflowClient, WorkflowDef


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--server", default=os.environ.get("CONDUCTOR_SERVER_URL"), help="server API URL")
    parser.add_argument("--workflows", type=int, default=3, help="how many workflows to start (default 3)")
    parser.add_argument("--serve", action="store_true", help="keep serving until Ctrl-C")
    return parser.parse_args()


@contextlib.contextmanager
def server_url(given: Optional[str]) -> Iterator[str]:
    if given:
        yield given
        return
    from swift_conductor.devserver import EmbeddedServer

    with EmbeddedServer() as server:
        print(f"embedded server at {server.api_url}")
        yield server.api_url


def register(configuration: Configuration, workflow: WorkflowDef, task_defs: List[TaskDef]) -> None:
    metadata = MetadataClient(configuration)
    metadata.register_task_defs(task_defs)
    metadata.upsert_workflow_defs([workflow])


def run_demo(
    args: argparse.Namespace,
    make_host: Callable[[Configuration], WorkerHost],
    workflow: WorkflowDef,
    task_defs: List[TaskDef],
    inputs: Callable[[int], Dict[str, Any]],
    timeout: float = 60.0,
) -> int:
    """Register ``workflow``, start the host's workers, run ``args.workflows`` workflows, print them."""
    with server_url(args.server) as url:
        configuration = Configuration(server_api_url=url)
        register(configuration, workflow, task_defs)
        host = make_host(configuration)
        if args.serve:
            print(f"serving {', '.join(sorted(host.settings))}; Ctrl-C to stop")
            with host:
                host.start_processes()
            return 0
        host.start_processes()
        try:
            return _run_workflows(configuration, workflow, args.workflows, inputs, timeout)
        finally:
            host.stop_processes()


def _run_workflows(
    configuration: Configuration,
    workflow: WorkflowDef,
    count: int,
    inputs: Callable[[int], Dict[str, Any]],
    timeout: float,
) -> int:
    client = WorkflowClient(configuration)
    assert workflow.name is not None
    ids = [client.start_workflow(workflow.name, inputs(i)) for i in range(count)]
    deadline = time.monotonic() + timeout
    pending = list(ids)
    while pending and time.monotonic() < deadline:
        pending = [wid for wid in pending if not client.get_workflow(wid, include_tasks=False).is_terminal]
        time.sleep(0.1)
    failed = 0
    for wid in ids:
        wf = client.get_workflow(wid)
        failed += wf.status != "COMPLETED"
        print(f"{wf.workflow_name} {wid} {wf.status}: input={json.dumps(wf.input)} output={json.dumps(wf.output)}")
        if wf.reason_for_incompletion:
            print(f"    reason: {wf.reason_for_incompletion}")
    return 1 if failed or pending else 0
