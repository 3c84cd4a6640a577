"""Function workers that read their task from the context (no ``Task`` parameter)."""

from __future__ import annotations

import asyncio
import logging

from swift_conductor import current_task
from swift_conductor.worker import context

log = logging.getLogger("myworkers.context")


def describe(n: int = 0) -> dict:
    task = current_task()
    task.add_log(f"working on n={n}")
    return {
        "task_id": task.task_id,
        "workflow_id": task.workflow_id,
        "retry_count": task.retry_count,
        "poll_count": task.poll_count,
        "task_type": task.task_type,
    }


async def describe_async(n: int = 0) -> dict:
    await asyncio.sleep(0)
    context.add_log("from a coroutine")
    return {"task_id": current_task().task_id}


def wait_and_come_back(n: int = 0) -> dict:
    task = current_task()
    if task.poll_count < 2:
        context.set_callback_after(1)
        return {"checks": task.poll_count}
    return {"done": True}


def log_then_fail(n: int = 0) -> dict:
    context.add_log("about to fail")
    raise RuntimeError("nope")
