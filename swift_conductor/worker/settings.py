"""The one function that decides a worker's settings from env, ``worker.ini`` and the constructor.

Precedence, highest first (docs/configuration.md has the table):

1. ``conductor_worker_<task>_<prop>`` (also upper case, and with the task name in its own case)
2. ``conductor_worker_<prop>`` (also upper case)
3. ``worker.ini`` section ``[<task>]``
4. ``worker.ini`` section ``[DEFAULT]``
5. the constructor argument (or a class's own ``get_polling_interval_in_seconds()``)
6. the library default
"""

from __future__ import annotations

import configparser
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from .errors import WorkerConfigurationError
from .worker_interface import DEFAULT_POLLING_INTERVAL_MS, WorkerAbc

INI_NAME = "worker.ini"
MAX_POLL_TIMEOUT_MS = 5000


@dataclass(frozen=True)
class WorkerSettings:
    """A worker's resolved settings for one task name."""

    task_name: str
    domain: Optional[str] = None
    polling_interval: float = DEFAULT_POLLING_INTERVAL_MS  # ms to wait after an empty poll
    thread_count: int = 1
    poll_timeout: Optional[int] = None  # ms the server may hold a poll open; None: per server (see task_runner)
    paused: bool = False
    extend_lease: bool = False  # keep long tasks from timing out while they run

    @property
    def polling_interval_seconds(self) -> float:
        return self.polling_interval / 1000.0


# -- value parsers: each takes the raw value and returns it typed, or raises ValueError with the rule -------
def _domain(raw: Any) -> Optional[str]:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError("must be a string")
    return raw.strip() or None


MAX_POLLING_INTERVAL_MS = 3_600_000.0
MAX_THREAD_COUNT = 1000


def _polling_interval(raw: Any) -> float:
    value = _number(raw)
    if not 0 <= value <= MAX_POLLING_INTERVAL_MS:
        raise ValueError(f"must be milliseconds within 0..{MAX_POLLING_INTERVAL_MS:.0f}")
    return value


def _thread_count(raw: Any) -> int:
    value = _number(raw)
    if value != int(value) or not 1 <= value <= MAX_THREAD_COUNT:
        raise ValueError(f"must be a whole number within 1..{MAX_THREAD_COUNT}")
    return int(value)


def _poll_timeout(raw: Any) -> int:
    value = _number(raw)
    if value != int(value) or not 0 <= value <= MAX_POLL_TIMEOUT_MS:
        raise ValueError(f"must be whole milliseconds within 0..{MAX_POLL_TIMEOUT_MS}")
    return int(value)


def _flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0", ""):
        return False
    raise ValueError("must be true or false")


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("must be a number")
    try:
        value = float(raw) if isinstance(raw, (int, float)) else float(str(raw).strip())
    except (ValueError, OverflowError):
        raise ValueError("must be a number") from None
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


PROPERTIES: Dict[str, Callable[[Any], Any]] = {
    "domain": _domain,
    "polling_interval": _polling_interval,
    "thread_count": _thread_count,
    "poll_timeout": _poll_timeout,
    "paused": _flag,
    "extend_lease": _flag,
}


# -- worker.ini -----------------------------------------------------------------------------------------------
class IniFile:
    """A parsed ``worker.ini``. ``[DEFAULT]`` is read as its own section, not merged into the others."""

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path)
        parser = configparser.ConfigParser(default_section="\x00no-default\x00", interpolation=None)
        try:
            with open(self.path, encoding="utf-8") as handle:
                parser.read_file(handle)
        except (OSError, configparser.Error) as exc:
            raise WorkerConfigurationError(f"cannot read {self.path}: {exc}") from exc
        self.sections: Dict[str, Dict[str, str]] = {s: dict(parser.items(s)) for s in parser.sections()}
        for section, values in self.sections.items():
            for key in values:
                if key not in PROPERTIES:
                    raise WorkerConfigurationError(
                        f"{self.path} [{section}] {key}: not a worker setting (known: {', '.join(PROPERTIES)})"
                    )

    def get(self, section: str, key: str) -> Optional[str]:
        return self.sections.get(section, {}).get(key)


def find_ini(explicit: Union[str, Path, None] = None) -> Optional[IniFile]:
    """The ``worker.ini`` to use: an explicit path (must exist), else next to the main script, else the
    current directory, else none."""
    if explicit is not None:
        if not Path(explicit).is_file():
            raise WorkerConfigurationError(f"worker config file {explicit} does not exist")
        return IniFile(explicit)
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    candidates = []
    if main_file:
        candidates.append(Path(main_file).resolve().parent / INI_NAME)
    candidates.append(Path.cwd() / INI_NAME)
    for candidate in candidates:
        if candidate.is_file():
            return IniFile(candidate)
    return None


# -- the resolution -------------------------------------------------------------------------------------------
def _env_lookup(environ: Mapping[str, str], task: Optional[str], prop: str) -> Optional[Tuple[str, str]]:
    if task:
        stem = f"conductor_worker_{task}_{prop}"
        names = [stem, stem.upper(), f"CONDUCTOR_WORKER_{task}_{prop.upper()}", stem.lower()]
    else:
        names = [f"conductor_worker_{prop}", f"CONDUCTOR_WORKER_{prop.upper()}"]
    for name in names:
        if name in environ:
            return name, environ[name]
    return None


def _constructor_values(worker: WorkerAbc) -> Dict[str, Any]:
    values: Dict[str, Any] = {
        "domain": worker.get_domain(),
        "thread_count": getattr(worker, "thread_count", None),
        "poll_timeout": getattr(worker, "poll_timeout", None),
        "extend_lease": getattr(worker, "extend_lease", None),
    }
    overridden = type(worker).get_polling_interval_in_seconds is not WorkerAbc.get_polling_interval_in_seconds
    if overridden:
        values["polling_interval"] = worker.get_polling_interval_in_seconds() * 1000.0
    else:
        values["polling_interval"] = worker.poll_interval
    return values


def unknown_env_settings(environ: Mapping[str, str]) -> List[str]:
    """``conductor_worker_*`` variables that end in no known setting: most likely typos, worth a warning."""
    suffixes = tuple(f"_{prop}" for prop in PROPERTIES)
    return sorted(
        name for name in environ if name.lower().startswith("conductor_worker_") and not name.lower().endswith(suffixes)
    )


def resolve_settings(
    worker: WorkerAbc,
    task_name: str,
    ini: Optional[IniFile] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> WorkerSettings:
    """Settings for ``worker`` polling ``task_name``; a bad value raises naming its source, key and value."""
    env = os.environ if environ is None else environ
    given = _constructor_values(worker)
    resolved: Dict[str, Any] = {}
    for prop, parse in PROPERTIES.items():
        source: Optional[Tuple[str, Any]] = None
        found = _env_lookup(env, task_name, prop) or _env_lookup(env, None, prop)
        if found:
            source = (f"environment variable {found[0]}", found[1])
        elif ini is not None and ini.get(task_name, prop) is not None:
            source = (f"{ini.path} [{task_name}] {prop}", ini.get(task_name, prop))
        elif ini is not None and ini.get("DEFAULT", prop) is not None:
            source = (f"{ini.path} [DEFAULT] {prop}", ini.get("DEFAULT", prop))
        elif given.get(prop) is not None:
            source = (f"{type(worker).__name__}({task_name!r}) argument {prop}", given[prop])
        if source is None:
            continue
        try:
            resolved[prop] = parse(source[1])
        except ValueError as exc:
            raise WorkerConfigurationError(f"{source[0]}: {source[1]!r} {exc}") from None
    return WorkerSettings(task_name=task_name, **resolved)
