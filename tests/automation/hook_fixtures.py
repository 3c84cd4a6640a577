"""Per-process hooks and a worker that depends on them; imported by worker processes, so at module level."""

from __future__ import annotations

import os
from pathlib import Path

STATE: dict = {}


def _mark(what: str) -> None:
    Path(os.environ["HOOK_TEST_DIR"], f"{what}-{os.getpid()}").write_text(STATE.get("db", ""))


def open_pool() -> None:
    STATE["db"] = f"pool-of-{os.getpid()}"
    _mark("startup")


def close_pool() -> None:
    _mark("shutdown")
    STATE.pop("db", None)


def failing_startup() -> None:
    raise RuntimeError("database unreachable")


def uses_pool(n: int = 0) -> dict:
    return {"db": STATE.get("db"), "pid": os.getpid()}
