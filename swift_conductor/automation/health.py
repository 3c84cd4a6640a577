"""Health of a host's worker processes, for probes: is each alive and turning (liveness), and has each reached
the server lately (readiness)."""

from __future__ import annotations

import time
from typing import Any, Dict, List, Sequence

from .supervisor import Slot

#: A live process whose loop has not turned for this long is stuck. The loop turns at least every poll backoff
#: (30 s at most) plus one poll (long poll + read timeout), so this leaves room for a slow poll.
LIVENESS_SILENCE_S = 90.0
#: How long a freshly started process may take to import the program and reach its loop.
STARTUP_ALLOWANCE_S = 60.0
#: ``health()`` and ``/readyz``: every worker reached the server within this many seconds.
READY_SILENCE_S = 30.0


def worker_report(slot: Slot, now: float, max_silence: float) -> Dict[str, Any]:
    process = slot.process
    alive = process is not None and process.is_alive()
    reached = slot.reached.value if slot.reached is not None else 0.0
    beat = slot.beat.value if slot.beat is not None else 0.0
    silence = round(now - reached, 3) if reached else None
    if beat:
        turning = now - beat <= LIVENESS_SILENCE_S
    else:
        turning = time.monotonic() - slot.started_at <= STARTUP_ALLOWANCE_S
    return {
        "tasks": slot.task_names,
        "pid": process.pid if process is not None else None,
        "alive": alive,
        "live": alive and turning,
        "restarts": slot.restarts,
        "restart_in": round(max(0.0, slot.next_start - time.monotonic()), 3) if slot.next_start else None,
        "last_restart_delay": slot.last_delay or None,
        "seconds_since_server": silence,
        "seconds_since_loop": round(now - beat, 3) if beat else None,
        "healthy": alive and silence is not None and silence <= max_silence,
    }


def report(slots: Sequence[Slot], max_silence: float = READY_SILENCE_S) -> Dict[str, Any]:
    """Per worker: whether its process lives, its restarts (and ``restart_in`` seconds while it waits in restart
    backoff), how long ago its loop turned and reached the server.
    ``healthy`` (ready): every process lives and reached the server within ``max_silence`` seconds.
    ``live``: every process lives and its loop turns (a server outage does not make a worker dead)."""
    now = time.time()
    workers: List[Dict[str, Any]] = [worker_report(slot, now, max_silence) for slot in slots]
    return {
        "healthy": bool(workers) and all(w["healthy"] for w in workers),
        "live": bool(workers) and all(w["live"] for w in workers),
        "workers": workers,
    }
