# The seed README's program, as written there, plus the __main__ guard that spawned processes need.
# SampleWorker is the README's class, defined once in examples/class_worker.py.
# Server URL and task names come from argv so tests can run it against any server.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples"))
from class_worker import SampleWorker

if __name__ == "__main__":
    from multiprocessing import set_start_method

    set_start_method("spawn")

    from swift_conductor.automation.worker_host import WorkerHost
    from swift_conductor.configuration import Configuration

    configuration = Configuration(server_api_url=sys.argv[1], debug=True)

    workers = [
        SampleWorker(task_definition_name=sys.argv[2]),
        SampleWorker(task_definition_name=sys.argv[3]),
    ]

    with WorkerHost(workers, configuration) as worker_host:
        worker_host.start_processes()
