"""Starts workers, then dies of an exception without joining or stopping them (a common mistake)."""

import os
import sys
import time

from swift_conductor_decorators import worker_task

PREFIX = os.environ["E2E_PREFIX"]


@worker_task(f"{PREFIX}_fast")
def fast(n: int) -> int:
    return n * 2


if __name__ == "__main__":
    from swift_conductor import Configuration, WorkerHost

    host = WorkerHost.from_registry(Configuration(server_api_url=sys.argv[1]))
    host.start_processes()
    time.sleep(float(os.environ.get("E2E_SLEEP", "2")))
    raise RuntimeError("the application crashed")
