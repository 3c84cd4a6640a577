"""The one place where camelCase wire names meet snake_case attributes.

Every wire model is a dataclass deriving from :class:`WireModel`. Field names map to camelCase by rule
(``task_def_name`` -> ``taskDefName``); a field may override its wire name with ``metadata={"wire": ...}``.
Keys a model does not know are kept in ``extra`` so a server's newer fields survive a round trip.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple, Type, TypeVar

T = TypeVar("T", bound="WireModel")


def snake_to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# (attribute name, wire name, decoder or None)
_FieldSpec = Tuple[str, str, Optional[Callable[[Any], Any]]]


@dataclasses.dataclass(frozen=True)
class _Plan:
    """How one model class maps to the wire, worked out once per class from its fields and type hints."""

    specs: Tuple[_FieldSpec, ...]
    plain: Dict[str, str]  # wire name -> attribute, for fields whose JSON is already the value
    decoded: Tuple[Tuple[str, str, Callable[[Any], Any]], ...]  # (wire name, attribute, decoder)
    known: frozenset  # every wire name a field takes


def _decoder_for(tp: Any) -> Optional[Callable[[Any], Any]]:
    """A function that turns decoded JSON into ``tp``; None when JSON is already the right shape."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union:
        inner = [a for a in args if a is not type(None)]
        return _decoder_for(inner[0]) if len(inner) == 1 else None
    if isinstance(tp, type) and issubclass(tp, WireModel):
        model = tp
        return lambda value: model.from_dict(value) if isinstance(value, dict) else value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        enum_type = tp

        def decode_enum(value: Any) -> Any:
            try:
                return enum_type(value)
            except ValueError:
                return value  # a status this client does not know yet stays a plain string

        return decode_enum
    if origin in (list, List) and args:
        item = _decoder_for(args[0])
        if item is not None:
            decode_item = item
            return lambda value: [decode_item(v) for v in value] if isinstance(value, list) else value
    if origin in (dict, Dict) and len(args) == 2:
        item = _decoder_for(args[1])
        if item is not None:
            decode_value = item
            return lambda value: {k: decode_value(v) for k, v in value.items()} if isinstance(value, dict) else value
    return None


_PLANS: Dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    known = _PLANS.get(cls)
    if known is not None:
        return known
    module = sys.modules.get(cls.__module__)
    hints = typing.get_type_hints(cls, vars(module) if module else None)
    specs: List[_FieldSpec] = []
    for f in dataclasses.fields(cls):
        if f.name == "extra" or not f.init:
            continue
        wire = f.metadata.get("wire") or snake_to_camel(f.name)
        specs.append((f.name, wire, _decoder_for(hints[f.name])))
    plan = _Plan(
        specs=tuple(specs),
        plain={wire: name for name, wire, decoder in specs if decoder is None},
        decoded=tuple((wire, name, decoder) for name, wire, decoder in specs if decoder is not None),
        known=frozenset(wire for _, wire, _ in specs),
    )
    _PLANS[cls] = plan
    return plan


_SCALARS = frozenset({str, int, float, bool})


def _encode(value: Any) -> Any:
    if isinstance(value, WireModel):
        return value.to_dict()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def extra_field() -> Any:
    """The trailing ``extra`` field every model declares: unknown wire keys, kept for round trips."""
    return dataclasses.field(default_factory=dict, repr=False, compare=False)


@dataclasses.dataclass
class WireModel:
    """Base of every wire model: ``from_dict`` tolerates unknown keys, ``to_dict`` omits None."""

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = dict(getattr(self, "extra", None) or {})
        for name, wire, _decoder in _plan(type(self)).specs:
            value = getattr(self, name)
            if value is not None:
                out[wire] = value if type(value) in _SCALARS else _encode(value)
        return out

    @classmethod
    def from_dict(cls: Type[T], data: Dict[str, Any]) -> T:
        if not isinstance(data, dict):
            raise TypeError(f"{cls.__name__} expects a JSON object, got {type(data).__name__}")
        plan = _plan(cls)
        plain = plan.plain.get
        kwargs: Dict[str, Any] = {}
        extra: Dict[str, Any] = {}
        for key, value in data.items():
            name = plain(key)
            if name is not None:
                if value is not None:
                    kwargs[name] = value
            elif key not in plan.known:
                extra[key] = value
        for wire, name, decoder in plan.decoded:
            value = data.get(wire)
            if value is not None:
                kwargs[name] = decoder(value)
        if extra:
            kwargs["extra"] = extra
        return cls(**kwargs)
