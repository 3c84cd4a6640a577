"""A realistic order-processing workflow on all three servers: an inline script, a fork of worker tasks, a
switch into a sub-workflow, a loop, a wait completed by an update, and worker tasks the test serves.

The final output must be identical in shape everywhere (numbers may be doubles on 3.15.0, whose JavaScript
engine returns them so)."""

from __future__ import annotations

from typing import Any

import pytest
from conformance_harness import Harness
from system_flows import by_ref, define, drive, simple, update_system_task

pytestmark = pytest.mark.timeout(180)


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys kept, leaves replaced by their kind (int and float are one kind)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _definitions(conductor: Harness) -> tuple[str, dict[str, str]]:
    w = {k: conductor.name(k) for k in ("reserve", "charge", "fraud", "ship")}
    fraud_check = define(
        conductor,
        "fraud_check",
        [simple(w["fraud"], "score", amount="${workflow.input.amount}")],
        output={"score": "${score.output.score}"},
        workers=[w["fraud"]],
    )
    name = define(
        conductor,
        "order",
        [
            {
                "name": "price",
                "taskReferenceName": "price",
                "type": "INLINE",
                "inputParameters": {
                    "evaluatorType": "javascript",
                    "items": "${workflow.input.items}",
                    "expression": "(function(){ var t = 0; for (var i = 0; i < $.items.length; i++) "
                    "{ t += $.items[i].qty * $.items[i].price; } "
                    "return {total: t, tier: t > 100 ? 'big' : 'small', packages: $.items.length}; })()",
                },
            },
            {
                "name": "fork",
                "taskReferenceName": "fork",
                "type": "FORK_JOIN",
                "forkTasks": [
                    [simple(w["reserve"], "reserve", items="${workflow.input.items}")],
                    [simple(w["charge"], "charge", amount="${price.output.result.total}")],
                ],
            },
            {"name": "join", "taskReferenceName": "join", "type": "JOIN", "joinOn": ["reserve", "charge"]},
            {
                "name": "tier",
                "taskReferenceName": "tier",
                "type": "SWITCH",
                "evaluatorType": "value-param",
                "expression": "tier",
                "inputParameters": {"tier": "${price.output.result.tier}"},
                "decisionCases": {
                    "big": [
                        {
                            "name": "fraud",
                            "taskReferenceName": "fraud",
                            "type": "SUB_WORKFLOW",
                            "inputParameters": {"amount": "${price.output.result.total}"},
                            "subWorkflowParam": {"name": fraud_check, "version": 1},
                        }
                    ]
                },
                "defaultCase": [
                    {
                        "name": "skip",
                        "taskReferenceName": "skip",
                        "type": "SET_VARIABLE",
                        "inputParameters": {"fraud": "skipped"},
                    }
                ],
            },
            {
                "name": "ship_loop",
                "taskReferenceName": "ship_loop",
                "type": "DO_WHILE",
                "inputParameters": {"packages": "${price.output.result.packages}"},
                "loopCondition": "if ($.ship_loop['iteration'] < $.packages) { true; } else { false; }",
                "loopOver": [simple(w["ship"], "ship", package="${ship_loop.output.iteration}")],
            },
            {"name": "delivered", "taskReferenceName": "delivered", "type": "WAIT", "inputParameters": {}},
        ],
        output={
            "total": "${price.output.result.total}",
            "reservation": "${reserve.output.reservation}",
            "payment": "${charge.output}",
            "fraudScore": "${fraud.output.score}",
            "shipments": "${ship_loop.output.iteration}",
            "lastTracking": "${ship.output.tracking}",
            "deliveredBy": "${delivered.output.by}",
        },
    )
    return name, w


def test_order_processing_workflow(conductor: Harness, server_kind: str) -> None:
    name, w = _definitions(conductor)
    items = [{"sku": "a", "qty": 2, "price": 40}, {"sku": "b", "qty": 1, "price": 30}]
    workflow_id = conductor.workflows.start_workflow(name, {"items": items})
    workers = {
        w["reserve"]: lambda i: {"reservation": f"R-{len(i['items'])}"},
        w["charge"]: lambda i: {"charged": i["amount"], "currency": "EUR"},
        w["fraud"]: lambda i: {"score": 7 if i["amount"] > 100 else 1},
        w["ship"]: lambda i: {"tracking": f"T{int(i['package'])}"},
    }

    def waiting(doc: dict) -> bool:
        return any(t["referenceTaskName"] == "delivered" and t["status"] == "IN_PROGRESS" for t in doc["tasks"])

    doc = drive(conductor, workflow_id, workers, until=waiting)
    update_system_task(conductor, by_ref(doc)["delivered"], output={"by": "courier"})
    doc = drive(conductor, workflow_id, workers)

    assert doc["status"] == "COMPLETED", doc.get("reasonForIncompletion")
    expected = {
        "total": 110,
        "reservation": "R-2",
        "payment": {"charged": 110, "currency": "EUR"},
        "fraudScore": 7,
        "shipments": 2,
        "lastTracking": "T2",
        "deliveredBy": "courier",
    }
    assert shape(doc["output"]) == shape(expected)
    assert doc["output"] == expected  # 110.0 == 110 too: 3.15.0's doubles compare equal
    refs = [t["referenceTaskName"] for t in doc["tasks"]]
    assert refs[:2] == ["price", "fork"]
    assert set(refs) == {
        "price",
        "fork",
        "reserve",
        "charge",
        "join",
        "tier",
        "fraud",
        "ship_loop",
        "ship__1",
        "ship__2",
        "delivered",
    }
    assert all(t["status"] == "COMPLETED" for t in doc["tasks"])
    assert (
        refs.index("join")
        < refs.index("tier")
        < refs.index("fraud")
        < refs.index("ship_loop")
        < refs.index("delivered")
    )
    fraud = conductor.raw_workflow(by_ref(doc)["fraud"]["subWorkflowId"])
    assert fraud["status"] == "COMPLETED" and fraud["parentWorkflowId"] == workflow_id
