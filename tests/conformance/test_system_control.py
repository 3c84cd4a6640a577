"""Control-flow system tasks on all three servers: SWITCH, DECISION, FORK_JOIN/JOIN, SET_VARIABLE, TERMINATE.

Task list entries (taskType, status, inputData, outputData) are compared with what Netflix 3.15.0 and OSS 3.32.3
show; where they differ, the embedded server follows OSS and the test pins both.
"""

from __future__ import annotations

import pytest
from conformance_harness import Harness
from system_flows import by_ref, define, drive, ended, rows, simple, wait_until

pytestmark = pytest.mark.timeout(120)


def test_switch_value_param_runs_the_matching_case(conductor: Harness) -> None:
    w = conductor.name("w")
    name = define(
        conductor,
        "sw",
        [
            {
                "name": "sw",
                "taskReferenceName": "sw",
                "type": "SWITCH",
                "evaluatorType": "value-param",
                "expression": "kind",
                "inputParameters": {"kind": "${workflow.input.kind}"},
                "decisionCases": {"a": [simple(w, "in_a", n=1)], "b": [simple(w, "in_b", n=2)]},
                "defaultCase": [simple(w, "in_default", n=0)],
            },
            simple(w, "after", n=9),
        ],
        workers=[w],
    )
    doc = drive(conductor, conductor.workflows.start_workflow(name, {"kind": "b"}), {w: lambda i: {"n": i["n"]}})
    assert doc["status"] == "COMPLETED"
    assert rows(doc) == [("sw", "SWITCH", "COMPLETED"), ("in_b", w, "COMPLETED"), ("after", w, "COMPLETED")]
    switch = by_ref(doc)["sw"]
    assert switch["inputData"] == {"case": "b", "hasChildren": "true", "kind": "b"}
    assert switch["outputData"] == {"evaluationResult": ["b"], "selectedCase": "b"}


def test_switch_default_case_and_no_match(conductor: Harness) -> None:
    w = conductor.name("w")
    name = define(
        conductor,
        "swd",
        [
            {
                "name": "sw1",
                "taskReferenceName": "sw1",
                "type": "SWITCH",
                "evaluatorType": "value-param",
                "expression": "k",
                "inputParameters": {"k": "zzz"},
                "decisionCases": {"a": [simple(w, "in_a")]},
                "defaultCase": [simple(w, "dflt")],
            },
            {
                "name": "sw2",
                "taskReferenceName": "sw2",
                "type": "SWITCH",
                "evaluatorType": "value-param",
                "expression": "k",
                "inputParameters": {"k": "nomatch"},
                "decisionCases": {"a": [simple(w, "in_a2")]},
            },
        ],
        workers=[w],
    )
    doc = drive(conductor, conductor.workflows.start_workflow(name, {}), {w: lambda i: {}})
    assert doc["status"] == "COMPLETED"
    assert rows(doc) == [("sw1", "SWITCH", "COMPLETED"), ("dflt", w, "COMPLETED"), ("sw2", "SWITCH", "COMPLETED")]
    no_match = by_ref(doc)["sw2"]
    assert no_match["inputData"] == {"case": "nomatch", "k": "nomatch"}  # no "hasChildren" when nothing runs
    assert no_match["outputData"] == {"evaluationResult": ["nomatch"], "selectedCase": "nomatch"}


def test_switch_javascript_evaluator(conductor: Harness) -> None:
    w = conductor.name("w")
    name = define(
        conductor,
        "swjs",
        [
            {
                "name": "sw",
                "taskReferenceName": "sw",
                "type": "SWITCH",
                "evaluatorType": "javascript",
                "expression": "$.amount > 100 ? 'big' : 'small'",
                "inputParameters": {"amount": "${workflow.input.amount}"},
                "decisionCases": {"big": [simple(w, "big")], "small": [simple(w, "small")]},
            }
        ],
        workers=[w],
    )
    doc = drive(conductor, conductor.workflows.start_workflow(name, {"amount": 250}), {w: lambda i: {}})
    assert rows(doc) == [("sw", "SWITCH", "COMPLETED"), ("big", w, "COMPLETED")]
    assert by_ref(doc)["sw"]["outputData"] == {"evaluationResult": ["big"], "selectedCase": "big"}


def test_decision_is_the_older_switch(conductor: Harness) -> None:
    """DECISION (the 3.15 name) still runs on OSS 3.32.3: its inputData keeps only the case, output caseOutput."""
    w = conductor.name("w")
    name = define(
        conductor,
        "dec",
        [
            {
                "name": "dc",
                "taskReferenceName": "dc",
                "type": "DECISION",
                "caseValueParam": "k",
                "inputParameters": {"k": "${workflow.input.k}"},
                "decisionCases": {"x": [simple(w, "in_x")]},
            }
        ],
        workers=[w],
    )
    doc = drive(conductor, conductor.workflows.start_workflow(name, {"k": "x"}), {w: lambda i: {}})
    assert rows(doc) == [("dc", "DECISION", "COMPLETED"), ("in_x", w, "COMPLETED")]
    decision = by_ref(doc)["dc"]
    assert decision["inputData"] == {"hasChildren": "true", "case": "x"}
    assert decision["outputData"] == {"caseOutput": ["x"]}


def _fork(w: str, fail_b1: bool = False) -> list:
    return [
        {
            "name": "fk",
            "taskReferenceName": "fk",
            "type": "FORK_JOIN",
            "forkTasks": [
                [simple(w, "b1", i=1, fail=fail_b1)],
                [simple(w, "b2", i=2), simple(w, "b3", i=3)],
            ],
        },
        {"name": "jn", "taskReferenceName": "jn", "type": "JOIN", "joinOn": ["b1", "b3"]},
    ]


def _work(i: dict) -> object:
    if i.get("fail"):
        return ("FAILED", {"i": i["i"]}, "nope")
    return {"i": i["i"]}


def test_fork_join_waits_for_join_on_and_collects_outputs(conductor: Harness) -> None:
    w = conductor.name("w")
    name = define(conductor, "fork", _fork(w), output={"joined": "${jn.output}"}, workers=[w])
    doc = drive(conductor, conductor.workflows.start_workflow(name, {}), {w: _work})
    assert doc["status"] == "COMPLETED"
    # The FORK task is listed as type "FORK"; the JOIN is scheduled with the first task of each branch.
    assert rows(doc)[:4] == [
        ("fk", "FORK", "COMPLETED"),
        ("b1", w, "COMPLETED"),
        ("b2", w, "COMPLETED"),
        ("jn", "JOIN", "COMPLETED"),
    ]
    assert sorted(r[0] for r in rows(doc)) == ["b1", "b2", "b3", "fk", "jn"]
    tasks = by_ref(doc)
    assert tasks["fk"]["inputData"] == {} and tasks["fk"]["outputData"] == {}
    assert tasks["jn"]["inputData"] == {"joinOn": ["b1", "b3"]}
    assert tasks["jn"]["outputData"] == {"b1": {"i": 1}, "b3": {"i": 3}}
    assert doc["output"] == {"joined": {"b1": {"i": 1}, "b3": {"i": 3}}}


def test_a_failed_branch_fails_the_join_and_the_workflow(conductor: Harness, server_kind: str) -> None:
    w = conductor.name("w")
    name = define(conductor, "forkfail", _fork(w, fail_b1=True), workers=[w])
    workflow_id = conductor.workflows.start_workflow(name, {})
    doc = drive(conductor, workflow_id, {w: _work})
    assert doc["status"] == "FAILED"
    tasks = by_ref(doc)
    assert doc["reasonForIncompletion"] == (
        f"Task {tasks['b1']['taskId']} failed with status: FAILED and reason: 'nope'"
    )
    assert doc["output"] == {}
    assert tasks["b1"]["status"] == "FAILED"
    assert tasks["b2"]["status"] in ("CANCELED", "COMPLETED")  # CANCELED unless our worker got to it first
    if server_kind == "netflix":  # 3.15.0 cancels the JOIN
        assert tasks["jn"]["status"] == "CANCELED"
    elif server_kind == "oss":
        # OSS evaluates the JOIN in a background worker that races the decider: when the JOIN sees the failed
        # branch first it ends FAILED (as below), otherwise the failing workflow cancels it.
        assert tasks["jn"]["status"] in ("FAILED", "CANCELED")
    if server_kind == "embedded" or tasks["jn"]["status"] == "FAILED":
        assert tasks["jn"]["status"] == "FAILED"
        assert tasks["jn"]["reasonForIncompletion"] == "nope"
        assert tasks["jn"]["outputData"]["b1"] == {"i": 1}


def test_set_variable_and_workflow_variables(conductor: Harness) -> None:
    w = conductor.name("w")
    name = define(
        conductor,
        "vars",
        [
            {"name": "sv", "taskReferenceName": "sv", "type": "SET_VARIABLE", "inputParameters": {"total": 3}},
            simple(w, "use", total="${workflow.variables.total}"),
            {
                "name": "sv2",
                "taskReferenceName": "sv2",
                "type": "SET_VARIABLE",
                "inputParameters": {"total": "${use.output.doubled}", "note": "x"},
            },
        ],
        output={"vars": "${workflow.variables}"},
        workers=[w],
    )
    doc = drive(conductor, conductor.workflows.start_workflow(name, {}), {w: lambda i: {"doubled": i["total"] * 2}})
    assert doc["status"] == "COMPLETED"
    tasks = by_ref(doc)
    assert tasks["sv"]["outputData"] == {} and tasks["sv"]["taskType"] == "SET_VARIABLE"
    assert tasks["use"]["inputData"] == {"total": 3}
    assert doc["variables"] == {"total": 6, "note": "x"}
    assert doc["output"] == {"vars": {"total": 6, "note": "x"}}


def test_terminate_completed_ends_the_workflow_with_its_output(conductor: Harness) -> None:
    w = conductor.name("w")
    name = define(
        conductor,
        "term",
        [
            {"name": "sv", "taskReferenceName": "sv", "type": "SET_VARIABLE", "inputParameters": {"a": 1}},
            {
                "name": "tm",
                "taskReferenceName": "tm",
                "type": "TERMINATE",
                "inputParameters": {
                    "terminationStatus": "COMPLETED",
                    "terminationReason": "enough",
                    "workflowOutput": {"done": "${workflow.variables.a}"},
                },
            },
            simple(w, "never"),
        ],
        output={"ignored": True},
        workers=[w],
    )
    doc = conductor.raw_workflow(conductor.workflows.start_workflow(name, {}))
    assert doc["status"] == "COMPLETED"
    assert doc["reasonForIncompletion"] == "enough"
    assert doc["output"] == {"done": 1}  # workflowOutput wins over outputParameters
    assert rows(doc) == [("sv", "SET_VARIABLE", "COMPLETED"), ("tm", "TERMINATE", "COMPLETED")]
    assert by_ref(doc)["tm"]["outputData"] == {"done": 1}


def test_terminate_failed(conductor: Harness) -> None:
    name = define(
        conductor,
        "termf",
        [
            {
                "name": "tm",
                "taskReferenceName": "tm",
                "type": "TERMINATE",
                "inputParameters": {"terminationStatus": "FAILED", "terminationReason": "bad input"},
            }
        ],
    )
    doc = conductor.raw_workflow(conductor.workflows.start_workflow(name, {}))
    assert doc["status"] == "FAILED"
    assert doc["reasonForIncompletion"] == "bad input"
    assert doc["output"] == {}
    assert rows(doc) == [("tm", "TERMINATE", "COMPLETED")]


def test_failure_workflow_starts_with_what_went_wrong(conductor: Harness) -> None:
    on_fail = define(
        conductor,
        "onfail",
        [
            {
                "name": "sv",
                "taskReferenceName": "sv",
                "type": "SET_VARIABLE",
                "inputParameters": {"seen": "${workflow.input.reason}"},
            }
        ],
    )
    script = "(function(){ throw new Error('x'); })()"
    name = define(
        conductor,
        "failing",
        [
            {
                "name": "boom",
                "taskReferenceName": "boom",
                "type": "INLINE",
                "inputParameters": {"evaluatorType": "javascript", "expression": script},
            }
        ],
        failureWorkflow=on_fail,
    )
    doc = wait_until(conductor, conductor.workflows.start_workflow(name, {"order": 5}), ended, "the failure")
    assert doc["status"] == "FAILED"
    boom = by_ref(doc)["boom"]
    # Without outputParameters a failed workflow outputs its last task's output, plus the failure workflow's id.
    failure_id = doc["output"]["conductor.failure_workflow"]
    assert doc["output"] == {"conductor.failure_workflow": failure_id, "error": boom["outputData"]["error"]}
    failure = wait_until(conductor, failure_id, ended, "the failure workflow")
    assert failure["workflowName"] == on_fail and failure["status"] == "COMPLETED"
    given = failure["input"]
    assert given["order"] == 5 and given["workflowId"] == doc["workflowId"]
    assert given["reason"] == doc["reasonForIncompletion"] and given["failureStatus"] == "FAILED"
    assert given["failureTaskId"] == boom["taskId"]
    assert given["failedWorkflow"]["workflowId"] == doc["workflowId"]
