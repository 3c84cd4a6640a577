"""Worker functions that mixed_host.py loads with ``WorkerHost.from_registry(modules=["mixed_functions"])``."""

from swift_conductor_decorators import worker_task


@worker_task("mixed_square")
def square(n: int) -> int:
    return n * n
