"""Decorated workers: typed inputs, dataclass outputs, terminal errors and IN_PROGRESS callbacks.

python examples/decorated_workers.py [--server URL] [--serve]
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import List

from _demo import parse_args, run_demo

from swift_conductor import (
    Configuration,
    InProgress,
    NonRetryableError,
    Task,
    TaskDef,
    WorkerHost,
    WorkflowDef,
    WorkflowTask,
)
from swift_conductor_decorators import worker_task


@dataclass
class Item:
    sku: str
    quantity: int
    unit_price: float


@dataclass
class Quote:
    total: float
    items: int


@worker_task("example_price_order", thread_count=4)
def price_order(items: List[Item], coupon: str = "") -> Quote:
    """``items`` arrives as JSON objects and is bound to Item dataclasses; the Quote becomes the output."""
    if coupon == "EXPIRED":
        raise NonRetryableError("coupon EXPIRED is no longer valid")  # FAILED_WITH_TERMINAL_ERROR: no retries
    total = sum(item.quantity * item.unit_price for item in items)
    return Quote(total=round(total * (0.9 if coupon == "TENOFF" else 1.0), 2), items=len(items))


@worker_task("example_wait_for_payment")
def wait_for_payment(task: Task, total: float) -> object:
    """Checks back twice, a second apart, before confirming: the same task id is delivered again."""
    if (task.poll_count or 0) < 3:
        return InProgress(callback_after_seconds=1, output={"checked": task.poll_count})
    return {"paid": total, "checks": task.poll_count}


WORKFLOW = WorkflowDef(
    name="decorated_example",
    tasks=[
        WorkflowTask(
            name="example_price_order",
            task_reference_name="price",
            input_parameters={"items": "${workflow.input.items}", "coupon": "${workflow.input.coupon}"},
        ),
        WorkflowTask(
            name="example_wait_for_payment",
            task_reference_name="pay",
            input_parameters={"total": "${price.output.total}"},
        ),
    ],
    output_parameters={"quote": "${price.output}", "payment": "${pay.output}"},
)
TASK_DEFS = [TaskDef(name="example_price_order", retry_count=0), TaskDef(name="example_wait_for_payment")]


def order(i: int) -> dict:
    items = [{"sku": "apple", "quantity": i + 1, "unit_price": 0.5}, {"sku": "pear", "quantity": 2, "unit_price": 1.25}]
    return {"items": items, "coupon": "TENOFF" if i % 2 else ""}


def make_host(configuration: Configuration) -> WorkerHost:
    return WorkerHost.from_registry(configuration)


if __name__ == "__main__":
    sys.exit(run_demo(parse_args(__doc__ or ""), make_host, WORKFLOW, TASK_DEFS, order))
