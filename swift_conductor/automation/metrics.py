"""Worker metrics for Prometheus (the optional ``metrics`` extra: ``prometheus-client``).

How samples get from worker processes to the one ``/metrics`` page: each worker process counts in plain
Python (a dict under a lock) and sends its totals to the host every :data:`REPORT_INTERVAL_S` seconds, and once
more when it stops, over the same queue its log records use. The host adds up the processes and renders them
with ``prometheus-client`` when scraped. We chose this over prometheus-client's multiprocess mode because that
mode needs ``PROMETHEUS_MULTIPROC_DIR`` in the environment before anything imports ``prometheus_client`` (a
global side effect on the application, and wrong if the application imported it first), leaves files to clean
up, and resets counters across restarts only by convention. Counters of a process that exits or dies are kept
(up to its last report), so they never go down; its gauges are dropped.

With metrics off (the default unless the host serves ``/metrics``) every hook calls :class:`Recorder`, whose
methods do nothing.

Labels are the task type and, for ``conductor_worker_tasks_total``, the outcome (the task result status): both
come from the worker's own configuration and the server's fixed set of statuses, so cardinality stays bounded.
"""

from __future__ import annotations

import bisect
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

logger = logging.getLogger("swift_conductor.automation")

REPORT_INTERVAL_S = 1.0

Key = Tuple[str, Tuple[str, ...]]  # metric, label values

#: name -> (help, label names)
COUNTERS: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "conductor_worker_polls": ("Polls sent to the server", ("task_type",)),
    "conductor_worker_poll_errors": ("Polls that failed (connection error or error answer)", ("task_type",)),
    "conductor_worker_tasks_received": ("Tasks handed out by the server", ("task_type",)),
    "conductor_worker_tasks": ("Tasks executed, by result status", ("task_type", "outcome")),
    "conductor_worker_update_retries": ("Result updates retried after a transient error", ("task_type",)),
    "conductor_worker_results_abandoned": ("Results never delivered (process stopped first)", ("task_type",)),
    "conductor_worker_process_restarts": ("Worker processes restarted by the host", ("task_type",)),
}
EXECUTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
UPDATE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HISTOGRAMS: Dict[str, Tuple[str, Tuple[str, ...], Tuple[float, ...]]] = {
    "conductor_worker_execution_seconds": ("Time the worker code took per task", ("task_type",), EXECUTION_BUCKETS),
    "conductor_worker_update_seconds": ("Time to deliver one result to the server", ("task_type",), UPDATE_BUCKETS),
}
GAUGES: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "conductor_worker_tasks_in_flight": ("Tasks being executed now", ("task_type",)),
    "conductor_worker_results_pending": ("Results waiting to be delivered", ()),
}


class Recorder:
    """The hooks the runtime calls. This one does nothing: it is in force when metrics are off."""

    enabled = False

    def polled(self, task_type: str, received: int) -> None:
        pass

    def received(self, task_type: str, count: int) -> None:
        """Tasks that came without a poll (update-v2 hands the next task over with a result)."""

    def poll_failed(self, task_type: str) -> None:
        pass

    def task_started(self, task: Any) -> None:
        pass

    def task_finished(self, task: Any, status: Any, seconds: float) -> None:
        pass

    def update_done(self, result: Any, seconds: float) -> None:
        pass

    def update_retried(self, result: Any) -> None:
        pass

    def result_abandoned(self, result: Any) -> None:
        pass


#: The recorder of this process; the hooks read it at each call, so :func:`install` takes effect at once.
recorder: Recorder = Recorder()


def install(new: Recorder) -> None:
    global recorder
    recorder = new


@dataclass
class Samples:
    """One process's totals (picklable: sent from a worker process to the host)."""

    counters: Dict[Key, float] = field(default_factory=dict)
    histograms: Dict[Key, List[float]] = field(default_factory=dict)  # bucket counts..., then sum
    gauges: Dict[Key, float] = field(default_factory=dict)


_OUTCOMES: Dict[Any, str] = {}  # result status -> label value (a handful: the server's statuses)


def _type_of(task: Any) -> str:
    return str(getattr(task, "task_def_name", None) or getattr(task, "task_type", None) or "unknown")


class SampleRecorder(Recorder):
    """Counts in this process; :meth:`snapshot` gives the totals so far."""

    enabled = True

    def __init__(self, default_type: str = "unknown") -> None:
        self.default_type = default_type
        self._lock = threading.Lock()
        self._counters: Dict[Key, float] = {}
        self._histograms: Dict[Key, List[float]] = {}
        self._in_flight: Dict[str, int] = {}
        self._types: Dict[str, str] = {}  # task id -> task type, until its result is delivered
        self.pending: Callable[[], int] = lambda: 0
        self.changes = 0

    def _count(self, name: str, labels: Tuple[str, ...], amount: float = 1.0) -> None:
        key = (name, labels)
        self._counters[key] = self._counters.get(key, 0.0) + amount

    def _observe(self, name: str, task_type: str, seconds: float) -> None:
        key = (name, (task_type,))
        buckets = HISTOGRAMS[name][2]
        values = self._histograms.get(key)
        if values is None:
            values = self._histograms[key] = [0.0] * (len(buckets) + 2)
        values[bisect.bisect_left(buckets, seconds)] += 1
        values[-1] += seconds

    def _result_type(self, result: Any, forget: bool) -> str:
        task_id = getattr(result, "task_id", None) or ""
        if forget:
            return self._types.pop(task_id, self.default_type)
        return self._types.get(task_id, self.default_type)

    def polled(self, task_type: str, received: int) -> None:
        with self._lock:
            self.changes += 1
            self._count("conductor_worker_polls", (task_type,))
            if received:
                self._count("conductor_worker_tasks_received", (task_type,), received)

    def received(self, task_type: str, count: int) -> None:
        with self._lock:
            self.changes += 1
            self._count("conductor_worker_tasks_received", (task_type,), count)

    def poll_failed(self, task_type: str) -> None:
        with self._lock:
            self.changes += 1
            self._count("conductor_worker_poll_errors", (task_type,))

    def task_started(self, task: Any) -> None:
        kind = _type_of(task)
        with self._lock:
            self.changes += 1
            self._in_flight[kind] = self._in_flight.get(kind, 0) + 1
            if getattr(task, "task_id", None):
                self._types[task.task_id] = kind

    def task_finished(self, task: Any, status: Any, seconds: float) -> None:
        kind = _type_of(task)
        outcome = _OUTCOMES.get(status)
        if outcome is None:
            outcome = _OUTCOMES[status] = str(getattr(status, "value", status) or "unknown").lower()
        with self._lock:
            self.changes += 1
            self._in_flight[kind] = self._in_flight.get(kind, 1) - 1
            self._count("conductor_worker_tasks", (kind, outcome))
            self._observe("conductor_worker_execution_seconds", kind, seconds)

    def update_done(self, result: Any, seconds: float) -> None:
        with self._lock:
            self.changes += 1
            self._observe("conductor_worker_update_seconds", self._result_type(result, True), seconds)

    def update_retried(self, result: Any) -> None:
        with self._lock:
            self.changes += 1
            self._count("conductor_worker_update_retries", (self._result_type(result, False),))

    def result_abandoned(self, result: Any) -> None:
        with self._lock:
            self.changes += 1
            self._count("conductor_worker_results_abandoned", (self._result_type(result, True),))

    def snapshot(self) -> Samples:
        with self._lock:
            gauges: Dict[Key, float] = {
                ("conductor_worker_tasks_in_flight", (kind,)): float(n) for kind, n in self._in_flight.items()
            }
            samples = Samples(dict(self._counters), {k: list(v) for k, v in self._histograms.items()}, gauges)
        try:
            samples.gauges[("conductor_worker_results_pending", ())] = float(self.pending())
        except Exception:  # a gauge is not worth a crash
            pass
        return samples


class Reporter:
    """In a worker process: sends the recorder's totals to the host now and then, and once more at the end."""

    def __init__(self, sample_recorder: SampleRecorder, channel: Any, source: int) -> None:
        self.recorder = sample_recorder
        self.channel = channel
        self.source = source
        self._stop = threading.Event()
        self._sent = -1
        self._thread = threading.Thread(target=self._loop, name="metrics-reporter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def send(self) -> None:
        try:
            self.channel.put(SampleBatch(self.source, self.recorder.snapshot()))
            self._sent = self.recorder.changes
        except Exception:
            logger.debug("could not send metrics to the host", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self.send()

    def _loop(self) -> None:
        while not self._stop.wait(REPORT_INTERVAL_S):
            if self.recorder.changes != self._sent or self.recorder.pending():
                self.send()


@dataclass
class SampleBatch:
    source: int  # the host's number for the process that sent it
    samples: Samples


class Aggregate:
    """In the host: the latest totals of each live process plus what exited processes had counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: Dict[int, Samples] = {}
        self._kept = Samples()  # counters and histograms of processes that are gone
        self._restarts: Dict[Key, float] = {}

    def update(self, batch: SampleBatch) -> None:
        with self._lock:
            self._live[batch.source] = batch.samples

    def retire(self, source: int) -> None:
        with self._lock:
            samples = self._live.pop(source, None)
            if samples is not None:
                _add(self._kept, samples)

    def restarted(self, task_types: Sequence[str]) -> None:
        with self._lock:
            for kind in task_types:
                key = ("conductor_worker_process_restarts", (kind,))
                self._restarts[key] = self._restarts.get(key, 0.0) + 1

    def totals(self) -> Samples:
        with self._lock:
            total = Samples()
            _add(total, self._kept)
            for samples in self._live.values():
                _add(total, samples)
                for key, value in samples.gauges.items():
                    total.gauges[key] = total.gauges.get(key, 0.0) + value
            for key, value in self._restarts.items():
                total.counters[key] = total.counters.get(key, 0.0) + value
            return total


def _add(into: Samples, samples: Samples) -> None:
    for key, value in samples.counters.items():
        into.counters[key] = into.counters.get(key, 0.0) + value
    for key, values in samples.histograms.items():
        mine = into.histograms.get(key)
        if mine is None:
            into.histograms[key] = list(values)
        else:
            for i, v in enumerate(values):
                mine[i] += v


def available() -> bool:
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return False
    return True


class Exposition:
    """Renders an :class:`Aggregate` in the Prometheus text format (needs ``prometheus-client``)."""

    def __init__(self, aggregate: Aggregate) -> None:
        from prometheus_client import CollectorRegistry

        self.aggregate = aggregate
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def render(self) -> Tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        total = self.aggregate.totals()
        for name, (text, labels) in COUNTERS.items():
            counter = CounterMetricFamily(name, text, labels=list(labels))
            for (metric, values), value in sorted(total.counters.items()):
                if metric == name:
                    counter.add_metric(list(values), value)
            yield counter
        for name, (text, labels, buckets) in HISTOGRAMS.items():
            histogram = HistogramMetricFamily(name, text, labels=list(labels))
            for (metric, values), counts in sorted(total.histograms.items()):
                if metric != name:
                    continue
                cumulative, running = [], 0.0
                for bound, count in zip([*map(_bound, buckets), "+Inf"], counts[:-1]):
                    running += count
                    cumulative.append((bound, running))
                histogram.add_metric(list(values), cumulative, counts[-1])
            yield histogram
        for name, (text, labels) in GAUGES.items():
            gauge = GaugeMetricFamily(name, text, labels=list(labels))
            for (metric, values), value in sorted(total.gauges.items()):
                if metric == name:
                    gauge.add_metric(list(values), value)
            yield gauge


def _bound(value: float) -> str:
    return repr(float(value))


def child_recorder(enabled: bool, channel: Any, source: int, default_type: str) -> Optional[Reporter]:
    """In a worker process: install a counting recorder that reports to the host (when metrics are on)."""
    if not enabled or channel is None:
        return None
    counting = SampleRecorder(default_type)
    install(counting)
    reporter = Reporter(counting, channel, source)
    reporter.start()
    return reporter
