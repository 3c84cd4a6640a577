"""Bad server answers and broken connections, injected by an HTTP fault proxy in front of the embedded server."""

from __future__ import annotations

import logging
from typing import Any, Optional

import pytest

from swift_conductor import (
    Configuration,
    MetadataClient,
    TaskClient,
    TaskDef,
    WorkflowClient,
    WorkflowDef,
    WorkflowTask,
)
from swift_conductor.errors import ConductorConnectionError, InvalidResponseError, RequestDeadlineError
from swift_conductor.http.models import TaskResult

from .support.http_faults import Answer, DropAfterForward, Fault, HttpFaultProxy, RewriteJson, Trickle
from .support.proxy import split_url


def _one_task_workflow(api_url: str, uid: str) -> str:
    config = Configuration(server_api_url=api_url)
    name = f"bad_{uid}"
    MetadataClient(config).register_task_defs([TaskDef(name=name, retry_count=0)])
    MetadataClient(config).upsert_workflow_defs(
        [WorkflowDef(name=name, tasks=[WorkflowTask(name=name, task_reference_name="t", type="SIMPLE")])]
    )
    WorkflowClient(config).start_workflow(name, {})
    return name


def _on_poll(fault: Fault, times: int = 1) -> Any:
    left = [times]

    def rule(method: str, path: str) -> Optional[Fault]:
        if "/poll/" in path and left[0] > 0:
            left[0] -= 1
            return fault
        return None

    return rule


def test_a_poll_answered_with_text_is_an_invalid_response(embedded_server_url: str, uid: str) -> None:
    with HttpFaultProxy(split_url(embedded_server_url), _on_poll(Answer(200, b"maintenance window"))) as proxy:
        client = TaskClient(Configuration(server_api_url=proxy.api_url))
        with pytest.raises(InvalidResponseError, match="maintenance window") as err:
            client.batch_poll(f"bad_{uid}")
    assert err.value.retryable  # a middlebox's page is usually passing: polling goes on after a backoff


def test_a_web_page_gets_a_hint_about_the_url(embedded_server_url: str, uid: str) -> None:
    page = Answer(200, b"<html><body>\n<h1>Welcome</h1>\n" + b"x" * 5000 + b"</body></html>", "text/html")
    with HttpFaultProxy(split_url(embedded_server_url), _on_poll(page)) as proxy:
        client = TaskClient(Configuration(server_api_url=proxy.api_url))
        with pytest.raises(InvalidResponseError, match="Conductor server's API URL") as err:
            client.batch_poll(f"bad_{uid}")
    message = str(err.value)
    assert "\n" not in message and "x" * 500 not in message  # one short line, not the whole page


def test_a_trickling_answer_ends_at_the_request_deadline(embedded_server_url: str, uid: str) -> None:
    with HttpFaultProxy(split_url(embedded_server_url), lambda m, p: Trickle(step_bytes=2, step_seconds=0.2)) as proxy:
        config = Configuration(server_api_url=proxy.api_url, connect_timeout=0.5, read_timeout=1.0, dialect="tasks")
        with pytest.raises(RequestDeadlineError):
            TaskClient(config).queue_sizes(f"bad_{uid}")  # ~300 bytes at 10 bytes/s would take 30 s


def test_a_polled_task_without_an_id_is_refused_before_it_runs(
    embedded_server_url: str, uid: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = _one_task_workflow(embedded_server_url, uid)

    def strip_ids(tasks: Any) -> Any:
        for task in tasks:
            task.pop("taskId", None)
        return tasks

    with HttpFaultProxy(split_url(embedded_server_url), _on_poll(RewriteJson(strip_ids))) as proxy:
        client = TaskClient(Configuration(server_api_url=proxy.api_url, dialect="tasks"))
        with caplog.at_level(logging.ERROR, logger="swift_conductor.http"):
            assert client.batch_poll(name, count=1) == []
    assert proxy.faults_applied == 1
    assert [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "swift_conductor.http"]


def _warm_then(fault: Fault, method: str, path_part: str) -> Any:
    """Let the first request through (so the connection is a reused keep-alive), then apply ``fault`` once."""
    state = {"seen": 0, "applied": False}

    def rule(m: str, p: str) -> Optional[Fault]:
        state["seen"] += 1
        if state["seen"] > 1 and not state["applied"] and m == method and path_part in p:
            state["applied"] = True
            return fault
        return None

    return rule


def test_a_poll_is_never_sent_twice_after_a_dropped_connection(embedded_server_url: str, uid: str) -> None:
    name = _one_task_workflow(embedded_server_url, uid)
    with HttpFaultProxy(split_url(embedded_server_url), _warm_then(DropAfterForward(), "GET", "/poll/")) as proxy:
        client = TaskClient(Configuration(server_api_url=proxy.api_url, dialect="tasks"))
        client.queue_sizes(name)  # opens the keep-alive connection
        with pytest.raises(ConductorConnectionError):
            client.batch_poll(name, count=1)
        polls = [p for m, p in proxy.requests if "/poll/" in p]
    assert len(polls) == 1  # the server handed the task out once; a repeat would have dequeued more
    assert TaskClient(Configuration(server_api_url=embedded_server_url)).queue_sizes(name) == {name: 0}


def test_an_update_is_sent_again_after_a_dropped_connection(embedded_server_url: str, uid: str) -> None:
    name = _one_task_workflow(embedded_server_url, uid)
    direct = TaskClient(Configuration(server_api_url=embedded_server_url))
    task = direct.batch_poll(name, count=1)[0]
    with HttpFaultProxy(split_url(embedded_server_url), _warm_then(DropAfterForward(), "POST", "/tasks")) as proxy:
        client = TaskClient(Configuration(server_api_url=proxy.api_url, dialect="tasks"))
        client.queue_sizes(name)
        client.update_task(
            TaskResult(task_id=task.task_id, workflow_instance_id=task.workflow_instance_id, status="COMPLETED")
        )
        updates = [p for m, p in proxy.requests if m == "POST"]
    assert len(updates) == 2  # dropped once after the server took it, then sent again (harmless: idempotent)
    workflow = WorkflowClient(Configuration(server_api_url=embedded_server_url)).get_workflow(task.workflow_instance_id)
    assert workflow.status == "COMPLETED"


def test_a_closed_client_reconnects_and_closing_is_idempotent(embedded_server_url: str) -> None:
    client = TaskClient(Configuration(server_api_url=embedded_server_url))
    assert client.queue_sizes("x") == {"x": 0}
    client.close()
    client.close()
    assert client.queue_sizes("x") == {"x": 0}
    with TaskClient(Configuration(server_api_url=embedded_server_url)) as scoped:
        assert scoped.queue_sizes("y") == {"y": 0}
