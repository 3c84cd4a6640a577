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
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from ..clients.task_client import MAX_LONG_POLL_MS
from .errors import WorkerConfigurationError
from .worker_interface import DEFAULT_POLLING_INTERVAL_MS, WorkerAbc

INI_NAME = "worker.ini"
MAX_POLLING_INTERVAL_MS = 3_600_000.0
MAX_THREAD_COUNT = 1000
MAX_POLL_TIMEOUT_MS = MAX_LONG_POLL_MS


# -- value parsers: each takes the raw value and returns it typed, or raises ValueError with the rule -------
def _domain(raw: Any) -> Optional[str]:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError("must be a string")
    return raw.strip() or None


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
    if not text:
        return False
    value = configparser.ConfigParser.BOOLEAN_STATES.get(text)  # true/yes/on/1, false/no/off/0
    if value is None:
        raise ValueError("must be true or false")
    return value


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


# -- what the constructor gave: a worker's options, or its overridden accessors (read once, at host build) ------
def _given_domain(worker: WorkerAbc, option: str) -> Any:
    return worker.get_domain()


def _given_polling_interval(worker: WorkerAbc, option: str) -> Any:
    if type(worker).get_polling_interval_in_seconds is not WorkerAbc.get_polling_interval_in_seconds:
        return worker.get_polling_interval_in_seconds() * 1000.0
    return _given_option(worker, option)


def _given_option(worker: WorkerAbc, option: str) -> Any:
    options: Mapping[str, Any] = getattr(worker, "options", {})
    return options.get(option)


@dataclass(frozen=True)
class Setting:
    """How one field of :class:`WorkerSettings` is read from env, ``worker.ini`` and the constructor.

    ``parse`` checks a raw value; ``option`` is the :class:`WorkerOptions` key that sets it (None: env and ini
    only) and ``given`` reads that value from a worker; ``per_process`` marks a setting with one value per
    worker process, which must then resolve the same for every task name of a worker.
    """

    parse: Callable[[Any], Any]
    option: Optional[str] = None
    given: Callable[[WorkerAbc, str], Any] = _given_option
    per_process: bool = False


def _setting(*args: Any, **kwargs: Any) -> Dict[str, Setting]:
    return {"setting": Setting(*args, **kwargs)}


@dataclass(frozen=True)
class WorkerSettings:
    """A worker's resolved settings for one task name. Its fields are the table every source is read by."""

    task_name: str
    domain: Optional[str] = field(default=None, metadata=_setting(_domain, "domain", _given_domain))
    # ms to wait after an empty poll
    polling_interval: float = field(
        default=DEFAULT_POLLING_INTERVAL_MS,
        metadata=_setting(_polling_interval, "poll_interval", _given_polling_interval),
    )
    # one pool of execution threads per worker process
    thread_count: int = field(default=1, metadata=_setting(_thread_count, "thread_count", per_process=True))
    # ms the server may hold a poll open; None: chosen per server (see automation/task_runner.py)
    poll_timeout: Optional[int] = field(default=None, metadata=_setting(_poll_timeout, "poll_timeout"))
    paused: bool = field(default=False, metadata=_setting(_flag))
    # keep long tasks of this name from timing out while they run
    extend_lease: bool = field(default=False, metadata=_setting(_flag, "extend_lease"))

    @property
    def polling_interval_seconds(self) -> float:
        return self.polling_interval / 1000.0


#: The table: every setting by name, in the order of WorkerSettings' fields, and its library default.
SETTINGS: Dict[str, Setting] = {
    f.name: f.metadata["setting"] for f in fields(WorkerSettings) if "setting" in f.metadata
}
DEFAULTS: Dict[str, Any] = {f.name: f.default for f in fields(WorkerSettings) if f.name in SETTINGS}


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
                if key not in SETTINGS:
                    raise WorkerConfigurationError(
                        f"{self.path} [{section}] {key}: not a worker setting (known: {', '.join(SETTINGS)})"
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


def unknown_env_settings(environ: Mapping[str, str]) -> List[str]:
    """``conductor_worker_*`` variables that end in no known setting: most likely typos, worth a warning."""
    suffixes = tuple(f"_{prop}" for prop in SETTINGS)
    return sorted(
        name for name in environ if name.lower().startswith("conductor_worker_") and not name.lower().endswith(suffixes)
    )


def resolve_settings(
    worker: WorkerAbc,
    task_name: str,
    ini: Optional[IniFile] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> WorkerSettings:
    """Settings for ``worker`` polling ``task_name``; a bad value raises naming its source, key and value.

    A per-process setting (``thread_count``) that differs between the task names of one worker is refused:
    the worker's process has one value, and taking one name's silently would drop the others'.
    """
    env = os.environ if environ is None else environ
    names = worker.polled_task_names()
    resolved: Dict[str, Any] = {}
    for prop, spec in SETTINGS.items():
        found = _resolve(worker, task_name, prop, ini, env)
        if found is not None:
            resolved[prop] = found[1]
        if spec.per_process and len(names) > 1:
            _check_same_for_every_name(worker, names, prop, ini, env)
    return WorkerSettings(task_name=task_name, **resolved)


def _resolve(
    worker: WorkerAbc, task_name: str, prop: str, ini: Optional[IniFile], env: Mapping[str, str]
) -> Optional[Tuple[str, Any]]:
    """(where the value came from, the parsed value) of one setting for one task name; None: the default."""
    spec = SETTINGS[prop]
    source: Optional[Tuple[str, Any]] = None
    found = _env_lookup(env, task_name, prop) or _env_lookup(env, None, prop)
    given = spec.given(worker, spec.option) if spec.option else None
    if found:
        source = (f"environment variable {found[0]}", found[1])
    elif ini is not None and ini.get(task_name, prop) is not None:
        source = (f"{ini.path} [{task_name}] {prop}", ini.get(task_name, prop))
    elif ini is not None and ini.get("DEFAULT", prop) is not None:
        source = (f"{ini.path} [DEFAULT] {prop}", ini.get("DEFAULT", prop))
    elif given is not None:
        source = (f"{type(worker).__name__}({task_name!r}) argument {spec.option}", given)
    if source is None:
        return None
    try:
        return source[0], spec.parse(source[1])
    except ValueError as exc:
        raise WorkerConfigurationError(f"{source[0]}: {source[1]!r} {exc}") from None


def _check_same_for_every_name(
    worker: WorkerAbc, names: List[str], prop: str, ini: Optional[IniFile], env: Mapping[str, str]
) -> None:
    default = ("the library default", DEFAULTS[prop])
    values = {name: _resolve(worker, name, prop, ini, env) or default for name in names}
    if len({value for _, value in values.values()}) > 1:
        listed = "; ".join(f"{name}: {value!r} from {source}" for name, (source, value) in values.items())
        raise WorkerConfigurationError(
            f"{worker!r} serves several task names with different {prop} ({listed}); {prop} is one value per "
            f"worker process, so set it the same for every name, or split the names into separate workers"
        )
