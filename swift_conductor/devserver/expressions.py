"""``${...}`` resolution for task inputParameters and workflow outputParameters.

Mirrors the real server (verified on Netflix Conductor 3.15.0): a string that is exactly one expression
becomes the referenced value of any type; expressions embedded in a longer string are replaced by the
value's Java ``toString`` (``null``, ``true``, ``{k=v}``, ``[1, 2]``); ``$${x}`` escapes to a literal
``${x}``; a path that does not resolve gives ``null``.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional

#: Resolves the first path segment (``workflow``, a task reference name, ...) to a root object.
RootLookup = Callable[[str], Any]

_MISSING = object()
_TOKEN = re.compile(r"\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]|([^.\[\]]+)")


def parse_path(path: str) -> List[Any]:
    """Split ``a.output.d.e[1]`` into ``["a", "output", "d", "e", 1]``."""
    parts: List[Any] = []
    for index, quoted, dquoted, name in _TOKEN.findall(path.strip()):
        if index:
            parts.append(int(index))
        elif quoted or dquoted:
            parts.append(quoted or dquoted)
        else:
            parts.append(name.strip())
    return parts


def walk(value: Any, parts: List[Any]) -> Any:
    """Follow ``parts`` into nested dicts/lists; ``None`` as soon as a step does not exist."""
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part if isinstance(part, str) else str(part))
        elif isinstance(value, list) and isinstance(part, int):
            value = value[part] if -len(value) <= part < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def java_str(value: Any) -> str:
    """``String.valueOf`` of a JSON value as the Java server would render it inside a string."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(java_str(v) for v in value) + "]"
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e7:
            return f"{value:.1f}"
        return repr(value)
    return str(value)


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` that closes the ``${`` whose ``{`` is at ``start``; -1 if unbalanced."""
    depth = 0
    for i in range(start, len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


class Resolver:
    """Evaluates expressions against one workflow's state through a root lookup function."""

    __slots__ = ("_lookup",)

    def __init__(self, lookup: RootLookup) -> None:
        self._lookup = lookup

    def evaluate(self, path: str) -> Any:
        parts = parse_path(path)
        if not parts or not isinstance(parts[0], str):
            return None
        root = self._lookup(parts[0])
        if root is None:
            return None
        return walk(root, parts[1:])

    def resolve(self, value: Any) -> Any:
        """Resolve every expression inside ``value`` (dicts and lists recursively); returns new objects."""
        if isinstance(value, str):
            return self._resolve_string(value) if "${" in value else value
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _resolve_string(self, text: str) -> Any:
        if text.startswith("${") and not text.startswith("${", 1):
            end = _closing_brace(text, 1)
            if end == len(text) - 1:
                return self.evaluate(text[2:-1])
        out: List[str] = []
        i = 0
        n = len(text)
        while i < n:
            j = text.find("${", i)
            if j < 0:
                out.append(text[i:])
                break
            if j > 0 and text[j - 1] == "$":
                # "$${x}" is an escaped literal "${x}".
                out.append(text[i : j - 1])
                end = _closing_brace(text, j + 1)
                stop = n if end < 0 else end + 1
                out.append(text[j:stop])
                i = stop
                continue
            end = _closing_brace(text, j + 1)
            if end < 0:
                out.append(text[i:])
                break
            out.append(text[i:j])
            out.append(java_str(self.evaluate(text[j + 2 : end])))
            i = end + 1
        return "".join(out)


def referenced_roots(value: Any, found: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Map each root name used by an expression in ``value`` to one expression using it (for validation)."""
    if found is None:
        found = {}
    if isinstance(value, str):
        start = 0
        while True:
            j = value.find("${", start)
            if j < 0:
                break
            end = _closing_brace(value, j + 1)
            if end < 0:
                break
            if not (j > 0 and value[j - 1] == "$"):
                parts = parse_path(value[j + 2 : end])
                if parts and isinstance(parts[0], str):
                    found.setdefault(parts[0], value[j : end + 1])
            start = end + 1
    elif isinstance(value, dict):
        for v in value.values():
            referenced_roots(v, found)
    elif isinstance(value, list):
        for v in value:
            referenced_roots(v, found)
    return found
