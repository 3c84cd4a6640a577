"""Decorated workers for the runtime tests. Names carry E2E_PREFIX so each test has its own queues.

python decorated_program.py SERVER_API_URL
"""

import os
import sys
import time

from swift_conductor_decorators import worker_task

PREFIX = os.environ["E2E_PREFIX"]
SLOW_SECONDS = float(os.environ.get("E2E_SLOW_SECONDS", "2"))
GATE = os.environ.get("E2E_GATE")  # a file: the slow task waits for it instead of sleeping, then touches GATE.done


@worker_task(f"{PREFIX}_slow", thread_count=2)
def slow(n: int) -> dict:
    if GATE:
        deadline = time.monotonic() + 120
        while not os.path.exists(GATE) and time.monotonic() < deadline:
            time.sleep(0.05)
        open(f"{GATE}.done", "w").close()
    else:
        time.sleep(SLOW_SECONDS)
    return {"n": n, "pid": os.getpid()}


@worker_task(f"{PREFIX}_fast")
def fast(n: int) -> int:
    return n * 2


if __name__ == "__main__":
    from swift_conductor import Configuration, WorkerHost

    host = WorkerHost.from_registry(
        Configuration(server_api_url=sys.argv[1], debug=True),
        grace_period=float(os.environ.get("E2E_GRACE", "30")),
    )
    with host:
        host.start_processes()
    print("host exited cleanly", flush=True)
