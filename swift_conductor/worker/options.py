"""The options every worker takes as keywords: one definition for ``WorkerAbc``, ``Worker`` and ``@worker_task``.

Adding an option means adding it here and, when ``worker.ini`` and environment variables may set it too, one
field to :class:`swift_conductor.worker.settings.WorkerSettings`.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from typing_extensions import TypedDict


class WorkerOptions(TypedDict, total=False):
    """Keyword options of a worker. Each may be left out: the library default (or ``worker.ini`` and the
    environment, which override these) applies. docs/configuration.md explains each setting."""

    domain: Optional[str]  # poll the task queue of this domain
    poll_interval: Optional[float]  # milliseconds to wait after a poll that found nothing
    worker_id: Optional[str]  # the worker id sent to the server (default: host-pid-serial)
    thread_count: int  # tasks executed at once by the worker's process
    poll_timeout: Optional[int]  # milliseconds the server may hold a batch poll open
    extend_lease: Optional[bool]  # keep long tasks from timing out while they run


OPTION_NAMES = frozenset(WorkerOptions.__annotations__)


def checked_options(owner: str, options: Mapping[str, Any]) -> WorkerOptions:
    """``options`` as a fresh :class:`WorkerOptions`; a name that is no option is a TypeError naming it.

    Values are checked later, when the host resolves the settings, so that an error can name its source.
    """
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        raise TypeError(
            f"{owner}() got unexpected keyword argument(s) {', '.join(unknown)} "
            f"(worker options: {', '.join(sorted(OPTION_NAMES))})"
        )
    return WorkerOptions(**options)  # type: ignore[typeddict-item]
