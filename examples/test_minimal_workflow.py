from swift_conductor import WorkflowDef, WorkflowTask
from swift_conductor_decorators import worker_task


@worker_task("greet")
def greet(name: str) -> str:
    return f"Hello, {name}!"


def test_greeting_workflow(run_workers, run_workflow):
    step = WorkflowTask(name="greet", task_reference_name="greet", input_parameters={"name": "${workflow.input.name}"})
    with run_workers(greet):
        workflow = run_workflow(WorkflowDef(name="greeting", tasks=[step]), {"name": "Ada"})
    assert workflow.output == {"result": "Hello, Ada!"}
