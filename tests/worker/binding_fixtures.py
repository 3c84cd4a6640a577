"""Worker functions for the binding tests, written under postponed annotations on purpose."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from swift_conductor.http.models import Task


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Address:
    street: str
    zip_code: int


@dataclass
class Order:
    order_id: str
    quantity: int
    address: Address
    tags: List[str] = field(default_factory=list)
    note: Optional[str] = None


def typed(count: int, ratio: float, name: str, flag: bool, color: Color) -> dict:
    return {"count": count, "ratio": ratio, "name": name, "flag": flag, "color": color.value}


def with_dataclass(order: Order) -> Order:
    return order


def with_task(task: Task, x: int = 0) -> dict:
    return {"task_id": task.task_id, "poll_count": task.poll_count, "x": x}


def one_untyped(value):  # type: ignore[no-untyped-def]
    return value


def containers(items: List[int], lookup: Dict[str, float], maybe: Optional[int] = None) -> dict:
    return {"items": items, "lookup": lookup, "maybe": maybe}


def catch_all(a: int, **rest: object) -> dict:
    return {"a": a, "rest": rest}


class Greeter:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    def greet(self, name: str) -> str:
        return f"{self.greeting}, {name}"


class Doubler:
    def __call__(self, n: int) -> int:
        return 2 * n


def add(a: int, b: int) -> int:
    return a + b


@dataclass
class Pair:
    a: int
    b: int


def slow_double(n: int = 1) -> int:
    import time

    time.sleep(5)
    return 2 * n
