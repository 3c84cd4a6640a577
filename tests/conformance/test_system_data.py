"""Data and waiting system tasks on all three servers: INLINE, JSON_JQ_TRANSFORM, WAIT, HUMAN."""

from __future__ import annotations

import pytest
from conformance_harness import Harness
from system_flows import by_ref, define, ended, rows, update_system_task, wait_until

pytestmark = pytest.mark.timeout(120)


def _inline(ref: str, expression: str, **params: object) -> dict:
    return {
        "name": ref,
        "taskReferenceName": ref,
        "type": "INLINE",
        "inputParameters": {"evaluatorType": "javascript", "expression": expression, **params},
    }


def test_inline_javascript(conductor: Harness, server_kind: str) -> None:
    name = define(
        conductor,
        "inl",
        [
            _inline(
                "calc",
                "(function(){ return {total: $.qty * $.price, tags: [$.sku, 'x']}; })()",
                qty="${workflow.input.qty}",
                price=2.5,
                sku="A1",
            ),
            _inline("flag", "$.total > 10", total="${calc.output.result.total}"),
        ],
        output={"calc": "${calc.output.result}", "flag": "${flag.output.result}"},
    )
    doc = conductor.raw_workflow(conductor.workflows.start_workflow(name, {"qty": 6}))
    doc = wait_until(conductor, doc["workflowId"], ended, "the workflow to end")
    assert doc["status"] == "COMPLETED"
    assert rows(doc) == [("calc", "INLINE", "COMPLETED"), ("flag", "INLINE", "COMPLETED")]
    calc = by_ref(doc)["calc"]
    assert calc["inputData"]["qty"] == 6 and calc["inputData"]["evaluatorType"] == "javascript"
    if server_kind == "netflix":
        # 3.15.0 runs Nashorn: a double stays 15.0 and a JS array comes back as a map of indexes.
        assert calc["outputData"] == {"result": {"total": 15.0, "tags": {"0": "A1", "1": "x"}}}
        return
    # OSS (GraalJS) and the embedded server (QuickJS): plain JSON, a whole number is an integer.
    assert calc["outputData"] == {"result": {"total": 15, "tags": ["A1", "x"]}}
    assert doc["output"] == {"calc": {"total": 15, "tags": ["A1", "x"]}, "flag": True}


def test_inline_script_error_fails_the_task_terminally(conductor: Harness, server_kind: str) -> None:
    name = define(conductor, "inlerr", [_inline("boom", "(function(){ throw new Error('bad order'); })()")])
    doc = wait_until(conductor, conductor.workflows.start_workflow(name, {}), ended, "the workflow to end")
    assert doc["status"] == "FAILED"
    task = by_ref(doc)["boom"]
    assert task["status"] == "FAILED_WITH_TERMINAL_ERROR"
    reason = task["reasonForIncompletion"]
    assert task["outputData"] == {"error": reason}
    if server_kind == "netflix":
        assert reason.startswith("Error: bad order in <eval>")
    else:
        assert reason == "Error evaluating the script `Error: bad order`"
    assert doc["reasonForIncompletion"] == f"Task {task['taskId']} failed with status: FAILED and reason: '{reason}'"


def test_jq_error_fails_the_task(conductor: Harness) -> None:
    jq = {
        "name": "jq",
        "taskReferenceName": "jq",
        "type": "JSON_JQ_TRANSFORM",
        "inputParameters": {"queryExpression": ".a | foo("},
    }
    doc = wait_until(conductor, conductor.workflows.start_workflow(define(conductor, "jqerr", [jq]), {}), ended, "end")
    assert doc["status"] == "FAILED"
    task = by_ref(doc)["jq"]
    assert task["status"] == "FAILED"
    assert task["reasonForIncompletion"]  # the jq library's own parse error (Java jq there, libjq here)
    assert task["outputData"] == {"error": task["reasonForIncompletion"]}


def test_json_jq_transform(conductor: Harness) -> None:
    name = define(
        conductor,
        "jq",
        [
            {
                "name": "jq",
                "taskReferenceName": "jq",
                "type": "JSON_JQ_TRANSFORM",
                "inputParameters": {
                    "queryExpression": ".items | map(select(.qty > 1)) | .[] | {sku, total: (.qty * .price)}",
                    "items": "${workflow.input.items}",
                },
            }
        ],
        output={"first": "${jq.output.result}", "all": "${jq.output.resultList}"},
    )
    items = [{"sku": "a", "qty": 2, "price": 3}, {"sku": "b", "qty": 1, "price": 5}, {"sku": "c", "qty": 4, "price": 1}]
    doc = wait_until(conductor, conductor.workflows.start_workflow(name, {"items": items}), ended, "the end")
    assert doc["status"] == "COMPLETED"
    task = by_ref(doc)["jq"]
    assert task["taskType"] == "JSON_JQ_TRANSFORM"
    assert task["outputData"] == {
        "result": {"sku": "a", "total": 6},
        "resultList": [{"sku": "a", "total": 6}, {"sku": "c", "total": 4}],
    }
    assert doc["output"]["all"] == [{"sku": "a", "total": 6}, {"sku": "c", "total": 4}]


def test_wait_and_human_are_completed_by_the_task_update_api(conductor: Harness) -> None:
    name = define(
        conductor,
        "wait",
        [
            {"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"why": "approval"}},
            {"name": "h", "taskReferenceName": "h", "type": "HUMAN", "inputParameters": {"who": "${w.output.by}"}},
        ],
        output={"by": "${w.output.by}", "ok": "${h.output.ok}"},
    )
    workflow_id = conductor.workflows.start_workflow(name, {})
    doc = wait_until(conductor, workflow_id, lambda d: bool(d["tasks"]), "the WAIT task")
    assert rows(doc) == [("w", "WAIT", "IN_PROGRESS")]
    wait = by_ref(doc)["w"]
    assert wait["inputData"] == {"why": "approval"} and wait["outputData"] == {}
    update_system_task(conductor, wait, output={"by": "ann"})
    doc = wait_until(conductor, workflow_id, lambda d: len(d["tasks"]) == 2, "the HUMAN task")
    assert rows(doc) == [("w", "WAIT", "COMPLETED"), ("h", "HUMAN", "IN_PROGRESS")]
    human = by_ref(doc)["h"]
    assert human["inputData"] == {"who": "ann"}
    update_system_task(conductor, human, output={"ok": True})
    doc = wait_until(conductor, workflow_id, ended, "the workflow to end")
    assert doc["status"] == "COMPLETED"
    assert doc["output"] == {"by": "ann", "ok": True}


def test_wait_for_a_duration_completes_by_itself(conductor: Harness) -> None:
    name = define(
        conductor,
        "waitd",
        [{"name": "w", "taskReferenceName": "w", "type": "WAIT", "inputParameters": {"duration": "1 seconds"}}],
    )
    workflow_id = conductor.workflows.start_workflow(name, {})
    doc = wait_until(conductor, workflow_id, lambda d: bool(d["tasks"]), "the WAIT task")
    wait = by_ref(doc)["w"]
    assert wait["status"] == "IN_PROGRESS" and wait["callbackAfterSeconds"] == 1
    doc = wait_until(conductor, workflow_id, ended, "the WAIT to time out by itself")
    assert doc["status"] == "COMPLETED"
    assert rows(doc) == [("w", "WAIT", "COMPLETED")]
    assert by_ref(doc)["w"]["outputData"] == {}
