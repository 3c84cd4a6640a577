"""conductor-python 2.0.0 used the ordinary way: register definitions (its metadata client), serve them with its
TaskHandler, start five workflows and read them back (its workflow client). Nothing here is adapted to our server.

python conductor_python_program.py SERVER_API_URL PREFIX

Prints one JSON line per workflow ({"id", "status", "output"}) once all are finished or a minute has passed.
"""

import json
import sys
import time

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models import StartWorkflowRequest, TaskDef, WorkflowDef, WorkflowTask
from conductor.client.orkes_clients import OrkesClients
from conductor.client.worker.worker import Worker

WORKFLOWS = 5
DEADLINE_S = 60.0


def double(task):  # type: ignore[no-untyped-def]
    return {"doubled": task.input_data["x"] * 2}


def add_one(task):  # type: ignore[no-untyped-def]
    return {"result": task.input_data["y"] + 1}


def main(api_url: str, prefix: str) -> int:
    config = Configuration(server_api_url=api_url)
    clients = OrkesClients(configuration=config)
    metadata = clients.get_metadata_client()
    workflows = clients.get_workflow_client()
    first, second, name = f"{prefix}_double", f"{prefix}_add_one", f"{prefix}_wf"
    for task_name in (first, second):
        metadata.register_task_def(TaskDef(name=task_name, retry_count=0, owner_email="dev@example.com"))
    definition = WorkflowDef(
        name=name,
        version=1,
        tasks=[
            WorkflowTask(name=first, task_reference_name="a", input_parameters={"x": "${workflow.input.x}"}),
            WorkflowTask(name=second, task_reference_name="b", input_parameters={"y": "${a.output.doubled}"}),
        ],
        output_parameters={"result": "${b.output.result}"},
        schema_version=2,
        owner_email="dev@example.com",
    )
    metadata.register_workflow_def(definition, overwrite=True)
    workers = [Worker(first, double, poll_interval=0.1), Worker(second, add_one, poll_interval=0.1)]
    handler = TaskHandler(workers=workers, configuration=config, scan_for_annotated_workers=False)
    handler.start_processes()
    try:
        ids = [
            workflows.start_workflow(StartWorkflowRequest(name=name, version=1, input={"x": n}))
            for n in range(WORKFLOWS)
        ]
        deadline = time.monotonic() + DEADLINE_S
        pending = list(ids)
        while pending and time.monotonic() < deadline:
            time.sleep(0.2)
            pending = [i for i in pending if workflows.get_workflow(i, include_tasks=False).status == "RUNNING"]
        for workflow_id in ids:
            run = workflows.get_workflow(workflow_id, include_tasks=True)
            print(json.dumps({"id": workflow_id, "status": run.status, "output": run.output}), flush=True)
    finally:
        handler.stop_processes()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
