from swift_conductor.http.models import Task, TaskResult
from swift_conductor.http.models.task_result_status import TaskResultStatus
from swift_conductor.worker.worker_interface import WorkerAbc

class SampleWorker(WorkerAbc):
    def execute(self, task: Task) -> TaskResult:
        task_result = self.get_task_result_from_task(task)
        task_result.status = TaskResultStatus.COMPLETED

        task_result.add_output_data('outputKey1', 'value')
        task_result.add_output_data('oddEven', 1)
        task_result.add_output_data('mod', 4)

        return task_result

    def get_polling_interval_in_seconds(self) -> float:
        # poll every 500ms
        return 0.5

from multiprocessing import set_start_method
set_start_method('spawn')

from swift_conductor.configuration import Configuration
from swift_conductor.worker.worker import Worker
from swift_conductor.automation.worker_host import WorkerHost

configuration = Configuration(server_api_url='http://localhost:8080/api', debug=True)

workers = [
    SampleWorker(task_definition_name='task_1'),
    SampleWorker(task_definition_name='task_2'),
]

with WorkerHost(workers, configuration) as worker_host:
    worker_host.start_processes()
