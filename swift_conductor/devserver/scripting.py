"""JavaScript and jq for system tasks, from the optional ``server`` extra, imported only when first needed.

JavaScript runs in QuickJS (the ``quickjs`` package): a fresh context per evaluation, so scripts cannot
see each other, with a time limit so a runaway loop fails its task instead of hanging the server.
jq runs through the ``jq`` package; compiled programs are cached by their text.
"""

from __future__ import annotations

import functools
import importlib
import json
from typing import Any, Callable, List

EXTRA_HINT = "pip install 'swift-conductor-client[server]'"
JS_TIME_LIMIT_SECONDS = 5.0
JS_MEMORY_LIMIT_BYTES = 64 * 1024 * 1024


class ScriptError(Exception):
    """A script failed (syntax error, exception, time limit): the task fails with this message."""


class MissingExtra(Exception):
    """The package for a feature is not installed; the message names the extra to install."""


def _module(name: str, feature: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise MissingExtra(f"{feature} needs the optional '{name}' package: {EXTRA_HINT}") from None


def has_javascript() -> bool:
    try:
        _module("quickjs", "JavaScript")
    except MissingExtra:
        return False
    return True


def has_jq() -> bool:
    try:
        _module("jq", "jq")
    except MissingExtra:
        return False
    return True


def _plain(value: Any) -> Any:
    """JSON numbers as the OSS server returns them: a whole double is an integer."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def evaluate_js(expression: str, bindings: Any) -> Any:
    """Evaluate ``expression`` with ``$`` bound to ``bindings`` (a JSON value); the script's completion value
    comes back as plain JSON (``undefined`` as None)."""
    quickjs = _module("quickjs", "JavaScript")
    context = quickjs.Context()
    context.set_time_limit(JS_TIME_LIMIT_SECONDS)
    context.set_memory_limit(JS_MEMORY_LIMIT_BYTES)
    try:
        context.eval("var $ = " + json.dumps(bindings, ensure_ascii=False) + ";")
        result = context.eval(expression)
        if isinstance(result, quickjs.Object):
            text = result.json()
            result = None if text is None else json.loads(text)
    except quickjs.JSException as exc:
        raise ScriptError(str(exc).strip().splitlines()[0] if str(exc).strip() else "script failed") from None
    return _plain(result)


@functools.lru_cache(maxsize=256)
def _compiled(query: str) -> Any:
    return _module("jq", "JSON_JQ_TRANSFORM").compile(query)


def jq_all(query: str, data: Any) -> List[Any]:
    """Every result of a jq program on ``data``."""
    try:
        program: Callable[..., Any] = _compiled(query).input_value
    except MissingExtra:
        raise
    except Exception as exc:  # jq reports compile errors as ValueError
        raise ScriptError(str(exc)) from None
    try:
        return list(program(data).all())
    except Exception as exc:
        raise ScriptError(str(exc)) from None
