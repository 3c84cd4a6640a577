"""Task input -> function arguments, and return value -> task output.

Inputs bind to parameters by name and are converted to the parameter's type hint (resolved with
``typing.get_type_hints``, so ``from __future__ import annotations`` works). A value that cannot be converted,
or a required input that is missing, raises :class:`TaskInputError` naming the parameter.
"""

from __future__ import annotations

import configparser
import dataclasses
import enum
import functools
import inspect
import typing
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple

from ..http.models import Task
from .errors import TaskInputError, WorkerConfigurationError

_MISSING = inspect.Parameter.empty


class Binder:
    """Binds a task's input to one function's parameters. Built once per function, used per task."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self._plan: Optional[List[Tuple[str, Any, Any, inspect._ParameterKind]]] = None

    def prepare(self) -> None:
        """Build the plan now; an unresolvable type hint raises :class:`WorkerConfigurationError`.

        Deliberately not done at decoration time: a hint may name a class defined later in the module.
        """
        if self._plan is None:
            self._plan = self._build_plan()
        seen: Set[type] = set()
        for _, hint, _, _ in self._plan:
            _check_nested_hints(hint, seen)

    def _build_plan(self) -> List[Tuple[str, Any, Any, inspect._ParameterKind]]:
        signature = inspect.signature(self.func)
        # A callable object's hints live on its __call__ method.
        target: Any = self.func
        while isinstance(target, functools.partial):
            target = target.func
        if inspect.isclass(target):
            target = target.__init__
        elif not (inspect.isfunction(target) or inspect.ismethod(target)):
            target = target.__call__
        try:
            hints = typing.get_type_hints(target)
        except Exception as exc:  # an annotation that names something undefined
            name = getattr(self.func, "__qualname__", type(self.func).__name__)
            module = getattr(self.func, "__module__", None)
            where = f"{module}.{name}" if module else name
            raise WorkerConfigurationError(
                f"worker function {where}: cannot resolve its type hints ({type(exc).__name__}: {exc})"
            ) from exc
        plan = []
        for param in signature.parameters.values():
            plan.append((param.name, hints.get(param.name, Any), param.default, param.kind))
        return plan

    def bind(self, task: Task) -> Dict[str, Any]:
        if self._plan is None:
            try:
                self._plan = self._build_plan()
            except WorkerConfigurationError as exc:  # not checked at start-up (execute_task in a unit test)
                raise TaskInputError(str(exc)) from exc
        data: Mapping[str, Any] = task.input_data or {}
        kwargs: Dict[str, Any] = {}
        named = {name for name, _, _, _ in self._plan}
        for name, hint, default, kind in self._plan:
            if kind is inspect.Parameter.VAR_POSITIONAL:
                continue
            if kind is inspect.Parameter.VAR_KEYWORD:  # the input keys no named parameter took
                kwargs.update({k: v for k, v in data.items() if k not in named and k.isidentifier()})
                continue
            if hint is Task:
                kwargs[name] = task
                continue
            if name in data:
                kwargs[name] = convert(data[name], hint, name)
            elif default is _MISSING:
                raise TaskInputError(f"missing required input {name!r}")
        return kwargs


def _check_nested_hints(hint: Any, seen: Set[type]) -> None:
    """Resolve the hints of the dataclasses ``hint`` reaches (through containers too), as converting does."""
    for arg in typing.get_args(hint):
        _check_nested_hints(arg, seen)
    if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)) or hint in seen:
        return
    seen.add(hint)
    try:
        nested = typing.get_type_hints(hint)
    except Exception as exc:
        raise WorkerConfigurationError(
            f"dataclass {hint.__module__}.{hint.__qualname__}: cannot resolve its type hints "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    for f in dataclasses.fields(hint):
        _check_nested_hints(nested.get(f.name, Any), seen)


def convert(value: Any, hint: Any, where: str) -> Any:
    """``value`` as the type ``hint`` asks for; ``where`` names the parameter (and field) in errors."""
    if hint is Any or hint is object or hint is inspect.Parameter.empty:
        return value
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return convert(value, args[0], where)
    if origin is typing.Union or _is_union_type(hint):
        if value is None and type(None) in args:
            return None
        members = [a for a in args if a is not type(None)]
        for member in members:  # an exact match first, so Union[int, str] keeps "5" a str
            if isinstance(member, type) and typing.get_origin(member) is None and _exact(value, member):
                return value
        for member in members:
            try:
                return convert(value, member, where)
            except TaskInputError:
                continue
        raise TaskInputError(f"input {where!r}: {value!r} matches none of {_name(hint)}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise TaskInputError(f"input {where!r} must be one of {list(args)!r}, got {value!r}")
    if value is None:
        raise TaskInputError(f"input {where!r} must be {_name(hint)}, got null")
    if origin in (list, List, typing.Sequence, tuple, set, frozenset):
        if not isinstance(value, list):
            raise TaskInputError(f"input {where!r} must be a list, got {type(value).__name__}")
        item = args[0] if args else Any
        items = [convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if origin in (list, List, typing.Sequence) else origin(items)
    if origin in (dict, Dict, typing.Mapping):
        if not isinstance(value, dict):
            raise TaskInputError(f"input {where!r} must be an object, got {type(value).__name__}")
        item = args[1] if len(args) == 2 else Any
        return {k: convert(v, item, f"{where}.{k}") for k, v in value.items()}
    if origin is not None:
        return value  # a generic we do not convert (Callable[...], Iterator[...]): pass as is
    if not isinstance(hint, type):
        return value
    if dataclasses.is_dataclass(hint):
        return _build_dataclass(value, hint, where)
    if hasattr(hint, "model_validate"):  # a pydantic v2 model, without depending on pydantic
        try:
            return hint.model_validate(value)
        except Exception as exc:
            raise TaskInputError(f"input {where!r}: {exc}") from exc
    if issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise TaskInputError(f"input {where!r} must be one of {[m.value for m in hint]!r}, got {value!r}") from None
    if hint is bool:
        return _to_bool(value, where)
    if hint is int:
        return _to_int(value, where)
    if hint is float:
        return _to_float(value, where)
    if hint is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise TaskInputError(f"input {where!r} must be a string, got {type(value).__name__}")
    if isinstance(value, hint):
        return value
    raise TaskInputError(f"input {where!r} must be {hint.__name__}, got {type(value).__name__}")


def _exact(value: Any, member: type) -> bool:
    if member in (int, float) and isinstance(value, bool):
        return False
    return isinstance(value, member)


def _is_union_type(hint: Any) -> bool:
    return type(hint).__name__ == "UnionType"  # X | Y on Python 3.10+


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def _to_bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = configparser.ConfigParser.BOOLEAN_STATES.get(value.strip().lower())  # true/yes/on/1, false/...
        if word is not None:
            return word
    raise TaskInputError(f"input {where!r} must be a boolean, got {value!r}")


def _to_int(value: Any, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise TaskInputError(f"input {where!r} must be an integer, got {value!r}")


def _to_float(value: Any, where: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise TaskInputError(f"input {where!r} must be a number, got {value!r}")


def _build_dataclass(value: Any, cls: type, where: str) -> Any:
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise TaskInputError(f"input {where!r} must be an object for {cls.__name__}, got {type(value).__name__}")
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:
        raise TaskInputError(f"cannot resolve the type hints of {cls.__name__}: {exc}") from exc
    kwargs = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in value:
            kwargs[f.name] = convert(value[f.name], hints.get(f.name, Any), f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise TaskInputError(f"missing required input {where}.{f.name}")
    return cls(**kwargs)


def to_output(value: Any) -> Dict[str, Any]:
    """A function's return value as task output: dicts and dataclasses as they are, others as ``result``."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "model_dump") and not isinstance(value, type):
        dumped = value.model_dump(mode="json")
        if isinstance(dumped, dict):
            return dumped
    return {"result": value}
