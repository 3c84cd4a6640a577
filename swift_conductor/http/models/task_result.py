from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union, overload

from ._wire import WireModel, extra_field
from .task_exec_log import TaskExecLog, now_millis
from .task_result_status import TaskResultStatus

MAX_REASON_LENGTH = 500  # the server cuts reasonForIncompletion here; longer reasons are cut before sending


class _Status:
    """The ``status`` field: a name is turned into the enum when set, so a typo fails where it is made.

    A descriptor rather than ``__setattr__``: only this field pays for the check, not every field of every
    result."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}"

    @overload
    def __get__(self, obj: None, owner: Any = None) -> None: ...

    @overload
    def __get__(self, obj: object, owner: Any = None) -> Optional[TaskResultStatus]: ...

    def __get__(self, obj: Optional[object], owner: Any = None) -> Optional[TaskResultStatus]:
        if obj is None:
            return None  # the field's default
        return obj.__dict__.get(self._slot)

    def __set__(self, obj: object, value: Optional[Union[TaskResultStatus, str]]) -> None:
        if value is not None and type(value) is not TaskResultStatus:
            value = _status(value)
        obj.__dict__[self._slot] = value


@dataclass
class TaskResult(WireModel):
    """What a worker reports for a task. ``status`` takes the enum or its name."""

    task_id: Optional[str] = None
    workflow_instance_id: Optional[str] = None
    status: _Status = _Status()  # takes the enum or its name; always reads back as the enum (or None)
    output_data: Dict[str, Any] = field(default_factory=dict)
    reason_for_incompletion: Optional[str] = None
    callback_after_seconds: Optional[int] = None
    worker_id: Optional[str] = None
    logs: List[TaskExecLog] = field(default_factory=list)
    extend_lease: Optional[bool] = None
    sub_workflow_id: Optional[str] = None
    external_output_payload_storage_path: Optional[str] = None
    extra: Dict[str, Any] = extra_field()

    def add_output_data(self, key: str, value: Any) -> TaskResult:
        self.output_data[key] = value
        return self

    def log(self, message: str) -> TaskResult:
        self.logs.append(TaskExecLog(log=message, task_id=self.task_id, created_time=now_millis()))
        return self


def _status(value: Any) -> TaskResultStatus:
    try:
        return TaskResultStatus(value)
    except ValueError:
        names = ", ".join(s.value for s in TaskResultStatus)
        raise ValueError(f"TaskResult.status must be one of {names}; got {value!r}") from None
