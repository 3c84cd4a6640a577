"""worker.ini and environment variables: how each worker's domain and polling interval are chosen.

    python examples/ini_and_env/main.py [--server URL] [--serve]
    conductor_worker_python_annotated_task_2_domain=cold python examples/ini_and_env/main.py

The worker.ini next to this script (the one in docs/configuration.md) gives task 1 the domain "cool" and task 2
"hot"; an environment variable overrides the file. The workflow is started with taskToDomain taken from the
resolved settings, so tasks land in the queues these workers poll.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for the examples' shared _demo module

from _demo import parse_args, register, server_url

from swift_conductor import (
    Configuration,
    StartWorkflowRequest,
    TaskDef,
    WorkerHost,
    WorkflowClient,
    WorkflowDef,
    WorkflowTask,
)
from swift_conductor_decorators import worker_task


@worker_task("python_annotated_task_1")
def task_1(x: int) -> dict:
    return {"doubled": x * 2}


@worker_task("python_annotated_task_2", poll_interval=1000)  # worker.ini and env override this
def task_2(doubled: int) -> dict:
    return {"plus_one": doubled + 1}


WORKFLOW = WorkflowDef(
    name="ini_and_env_example",
    tasks=[
        WorkflowTask(
            name="python_annotated_task_1", task_reference_name="t1", input_parameters={"x": "${workflow.input.x}"}
        ),
        WorkflowTask(
            name="python_annotated_task_2",
            task_reference_name="t2",
            input_parameters={"doubled": "${t1.output.doubled}"},
        ),
    ],
    output_parameters={"result": "${t2.output.plus_one}"},
)


def main() -> int:
    args = parse_args(__doc__ or "")
    with server_url(args.server) as url:
        configuration = Configuration(server_api_url=url)
        register(configuration, WORKFLOW, [TaskDef(name=t.name, retry_count=0) for t in WORKFLOW.tasks])
        host = WorkerHost.from_registry(configuration)
        for name, settings in sorted(host.settings.items()):
            print(f"{name}: domain={settings.domain} polling_interval={settings.polling_interval:.0f} ms")
        domains = {name: s.domain for name, s in host.settings.items() if s.domain}
        if args.serve:
            with host:
                host.start_processes()
            return 0
        host.start_processes()
        try:
            client = WorkflowClient(configuration)
            ids = [
                client.start(StartWorkflowRequest(name=WORKFLOW.name, input={"x": i}, task_to_domain=domains))
                for i in range(args.workflows)
            ]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(client.get_workflow(w).is_terminal for w in ids):
                time.sleep(0.1)
            statuses = []
            for wid in ids:
                wf = client.get_workflow(wid)
                statuses.append(wf.status)
                print(f"{wid} {wf.status}: {wf.output} (domains {[t.domain for t in wf.tasks]})")
            return 0 if statuses == ["COMPLETED"] * len(ids) else 1
        finally:
            host.stop_processes()


if __name__ == "__main__":
    sys.exit(main())
