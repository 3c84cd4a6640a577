"""Worker functions for the logging tests; imported by worker processes, so they live at module level."""

from __future__ import annotations

import logging

log = logging.getLogger("myworkers.orders")


def chatty(n: int = 0) -> dict:
    log.info("hello from the worker, n=%s", n)
    if n < 0:
        raise ValueError(f"negative n: {n}")
    return {"n": n}
