"""Quick start: workers serving a sample workflow on the embedded server, in one command.

python examples/quickstart.py                 # embedded server, 3 workflows, then exit
python examples/quickstart.py --server URL    # against a real Conductor server
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from _demo import parse_args, run_demo

from swift_conductor import (
    Configuration,
    Task,
    TaskDef,
    TaskResult,
    TaskResultStatus,
    WorkerAbc,
    WorkerHost,
    WorkflowDef,
    WorkflowTask,
)
from swift_conductor_decorators import worker_task


@dataclass
class Greeting:
    text: str
    length: int


# A plain function: the input key "name" binds to the parameter, the dataclass becomes the output.
@worker_task("quickstart_greet")
def greet(name: str, excited: bool = False) -> Greeting:
    text = f"Hello, {name}{'!' if excited else '.'}"
    return Greeting(text=text, length=len(text))


# A class worker, for full control over the result.
class ShoutWorker(WorkerAbc):
    def execute(self, task: Task) -> TaskResult:
        result = self.get_task_result_from_task(task)
        result.status = TaskResultStatus.COMPLETED
        result.add_output_data("shout", str(task.input_data["text"]).upper())
        result.log("shouted")
        return result


WORKFLOW = WorkflowDef(
    name="quickstart_workflow",
    version=1,
    tasks=[
        WorkflowTask(
            name="quickstart_greet",
            task_reference_name="greet",
            input_parameters={"name": "${workflow.input.name}", "excited": "${workflow.input.excited}"},
        ),
        WorkflowTask(
            name="quickstart_shout", task_reference_name="shout", input_parameters={"text": "${greet.output.text}"}
        ),
    ],
    output_parameters={"greeting": "${greet.output.text}", "shout": "${shout.output.shout}"},
)
TASK_DEFS = [TaskDef(name="quickstart_greet", retry_count=0), TaskDef(name="quickstart_shout", retry_count=0)]
NAMES = ["Ada", "Grace", "Linus", "Barbara", "Ken"]


def make_host(configuration: Configuration) -> WorkerHost:
    return WorkerHost.from_registry(configuration, workers=[ShoutWorker("quickstart_shout")])


if __name__ == "__main__":
    args = parse_args(__doc__ or "")
    sys.exit(
        run_demo(args, make_host, WORKFLOW, TASK_DEFS, lambda i: {"name": NAMES[i % len(NAMES)], "excited": i % 2 == 0})
    )
