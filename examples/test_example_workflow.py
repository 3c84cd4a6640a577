"""An example test module to copy: workers tested alone, then with a workflow, on the embedded server.

pytest examples/test_example_workflow.py                                      # embedded server
pytest examples/test_example_workflow.py --conductor-server URL               # a real server

The fixtures (run_workers, run_workflow, start_workflow, conductor, conductor_server, unique_name) come from
the plugin installed with the package: see docs/testing.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from swift_conductor import InProgress, NonRetryableError, Task, TaskResult, WorkerAbc, WorkflowDef, WorkflowTask
from swift_conductor.testing import execute_task
from swift_conductor_decorators import worker_task


# -- the workers under test ----------------------------------------------------------------------------------
@dataclass
class Quote:
    sku: str
    total: float


@worker_task("example_quote")
def quote(sku: str, quantity: int) -> Quote:
    if quantity <= 0:
        raise NonRetryableError(f"quantity must be positive, got {quantity}")
    return Quote(sku=sku, total=round(quantity * 9.99, 2))


@worker_task("example_reserve")
def reserve(task: Task, sku: str) -> object:
    """Stock arrives later: look again in an hour, then reserve."""
    if (task.poll_count or 0) < 2:
        return InProgress(callback_after_seconds=3600, output={"sku": sku, "waiting": True})
    return {"sku": sku, "reserved": True}


class LabelWorker(WorkerAbc):
    """A class worker, for full control over the result."""

    def execute(self, task: Task) -> TaskResult:
        result = self.get_task_result_from_task(task)
        result.status = "COMPLETED"
        result.output_data = {"label": f"{task.input_data['sku']}: {task.input_data['total']:.2f} EUR"}
        result.log("label printed")
        return result


def order_flow(name: str) -> WorkflowDef:
    return WorkflowDef(
        name=name,
        tasks=[
            WorkflowTask(
                name="example_quote",
                task_reference_name="quote",
                input_parameters={"sku": "${workflow.input.sku}", "quantity": "${workflow.input.quantity}"},
            ),
            WorkflowTask(
                name="example_label",
                task_reference_name="label",
                input_parameters={"sku": "${quote.output.sku}", "total": "${quote.output.total}"},
            ),
        ],
        output_parameters={"total": "${quote.output.total}", "label": "${label.output.label}"},
    )


# -- unit tests: no server -----------------------------------------------------------------------------------
def test_quote_alone() -> None:
    result = execute_task(quote, {"sku": "A-1", "quantity": "3"})
    assert result.status == "COMPLETED"
    assert result.output_data == {"sku": "A-1", "total": 29.97}


def test_quote_refuses_nonsense_for_good() -> None:
    result = execute_task(quote, {"sku": "A-1", "quantity": 0})
    assert result.status == "FAILED_WITH_TERMINAL_ERROR"
    assert result.reason_for_incompletion == "NonRetryableError: quantity must be positive, got 0"


# -- end to end: workers serving a workflow ------------------------------------------------------------------
def test_an_order_gets_a_quote_and_a_label(run_workers, run_workflow, unique_name) -> None:
    with run_workers(quote, LabelWorker("example_label")):
        workflow = run_workflow(order_flow(unique_name("order")), {"sku": "A-1", "quantity": 2})
    assert workflow.output == {"total": 19.98, "label": "A-1: 19.98 EUR"}
    assert workflow.task_by_ref("label").status == "COMPLETED"


def test_a_bad_order_fails_the_workflow_at_the_quote(run_workers, run_workflow, unique_name) -> None:
    with run_workers(quote, LabelWorker("example_label")):
        with pytest.raises(AssertionError, match=r"failing task: quote .*quantity must be positive"):
            run_workflow(order_flow(unique_name("order")), {"sku": "A-1", "quantity": -1})


# -- time control: the embedded server's clock ---------------------------------------------------------------
def test_stock_is_reserved_after_an_hour_in_no_time(conductor_server, run_workers, start_workflow, unique_name) -> None:
    if not conductor_server.can_advance:
        pytest.skip("needs a server whose clock tests can move")
    flow = WorkflowDef(
        name=unique_name("reserve"),
        tasks=[WorkflowTask(name="example_reserve", task_reference_name="reserve", input_parameters={"sku": "B-2"})],
    )
    with run_workers(reserve):
        run = start_workflow(flow)
        run.wait_until(lambda w: w.tasks[0].output_data.get("waiting"), what="the first look")
        conductor_server.advance(3600)
        workflow = run.wait()
    assert workflow.output == {"sku": "B-2", "reserved": True}
