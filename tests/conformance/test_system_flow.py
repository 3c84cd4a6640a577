"""Loops, sub-workflows and dynamic tasks on all three servers: DO_WHILE, SUB_WORKFLOW, DYNAMIC, FORK_JOIN_DYNAMIC."""

from __future__ import annotations

import pytest
from conformance_harness import Harness
from system_flows import by_ref, define, drive, rows, simple

pytestmark = pytest.mark.timeout(120)


def test_do_while_iterations_and_outputs(conductor: Harness, server_kind: str) -> None:
    w = conductor.name("w")
    name = define(
        conductor,
        "loop",
        [
            {
                "name": "lp",
                "taskReferenceName": "lp",
                "type": "DO_WHILE",
                "inputParameters": {"max": "${workflow.input.max}"},
                "loopCondition": "if ($.lp['iteration'] < $.max) { true; } else { false; }",
                "loopOver": [
                    simple(w, "lw", i="${lp.output.iteration}"),
                    {
                        "name": "ls",
                        "taskReferenceName": "ls",
                        "type": "INLINE",
                        "inputParameters": {
                            "evaluatorType": "javascript",
                            "expression": "$.v * 10",
                            "v": "${lw.output.i}",
                        },
                    },
                ],
            }
        ],
        output={"loop": "${lp.output}", "last": "${lw.output}"},
        workers=[w],
    )
    doc = drive(conductor, conductor.workflows.start_workflow(name, {"max": 3}), {w: lambda i: {"i": i["i"]}})
    assert doc["status"] == "COMPLETED"
    assert rows(doc) == [
        ("lp", "DO_WHILE", "COMPLETED"),
        ("lw__1", w, "COMPLETED"),
        ("ls__1", "INLINE", "COMPLETED"),
        ("lw__2", w, "COMPLETED"),
        ("ls__2", "INLINE", "COMPLETED"),
        ("lw__3", w, "COMPLETED"),
        ("ls__3", "INLINE", "COMPLETED"),
    ]
    assert [t["iteration"] for t in doc["tasks"]] == [3, 1, 1, 2, 2, 3, 3]
    assert all(t["loopOverTask"] for t in doc["tasks"])
    tasks = by_ref(doc)
    assert tasks["lw__2"]["inputData"] == {"i": 2}
    ten = 10.0 if server_kind == "netflix" else 10  # Nashorn's doubles on 3.15.0
    expected = {
        "iteration": 3,
        "1": {"lw": {"i": 1}, "ls": {"result": ten}},
        "2": {"lw": {"i": 2}, "ls": {"result": 2 * ten}},
        "3": {"lw": {"i": 3}, "ls": {"result": 3 * ten}},
    }
    assert tasks["lp"]["outputData"] == expected
    assert tasks["lp"]["inputData"] == {"max": 3}
    assert doc["output"] == {"loop": expected, "last": {"i": 3}}


def _child(conductor: Harness, w: str) -> str:
    return define(
        conductor,
        "child",
        [simple(w, "cw", i="${workflow.input.i}", fail="${workflow.input.fail}")],
        output={"got": "${cw.output.i}"},
        workers=[w],
    )


def _work(i: dict) -> object:
    if i.get("fail"):
        return ("FAILED", {"i": i["i"]}, "nope")
    return {"i": i["i"]}


def test_sub_workflow_by_name_and_version(conductor: Harness) -> None:
    w = conductor.name("w")
    child = _child(conductor, w)
    name = define(
        conductor,
        "parent",
        [
            {
                "name": "s1",
                "taskReferenceName": "s1",
                "type": "SUB_WORKFLOW",
                "inputParameters": {"i": "${workflow.input.i}"},
                "subWorkflowParam": {"name": child, "version": 1},
            }
        ],
        output={"child": "${s1.output.got}"},
    )
    workflow_id = conductor.workflows.start_workflow(name, {"i": 4})
    doc = drive(conductor, workflow_id, {w: _work})
    assert doc["status"] == "COMPLETED"
    assert rows(doc) == [("s1", "SUB_WORKFLOW", "COMPLETED")]
    task = by_ref(doc)["s1"]
    child_id = task["subWorkflowId"]
    assert task["outputData"] == {"subWorkflowId": child_id, "got": 4}
    assert task["inputData"]["workflowInput"] == {"i": 4}
    assert task["inputData"]["subWorkflowName"] == child and task["inputData"]["subWorkflowVersion"] == 1
    assert doc["output"] == {"child": 4}
    sub = conductor.raw_workflow(child_id)
    assert sub["status"] == "COMPLETED" and sub["output"] == {"got": 4}
    assert sub["parentWorkflowId"] == workflow_id and sub["parentWorkflowTaskId"] == task["taskId"]


def test_sub_workflow_failure_fails_the_parent(conductor: Harness) -> None:
    w = conductor.name("w")
    child = _child(conductor, w)
    name = define(
        conductor,
        "pfail",
        [
            {
                "name": "s2",
                "taskReferenceName": "s2",
                "type": "SUB_WORKFLOW",
                "inputParameters": {"i": 5, "fail": True},
                "subWorkflowParam": {"name": child},
            }
        ],
    )
    doc = drive(conductor, conductor.workflows.start_workflow(name, {}), {w: _work})
    assert doc["status"] == "FAILED"
    task = by_ref(doc)["s2"]
    sub = conductor.raw_workflow(task["subWorkflowId"])
    assert sub["status"] == "FAILED"
    reason = f"Sub workflow {child}.1/{sub['workflowId']} failure reason: {sub['reasonForIncompletion']}"
    assert task["status"] == "FAILED" and task["reasonForIncompletion"] == reason
    assert task["outputData"] == {"subWorkflowId": sub["workflowId"], "got": 5}
    assert doc["reasonForIncompletion"] == f"Task {task['taskId']} failed with status: FAILED and reason: '{reason}'"


def test_sub_workflow_with_an_inline_definition(conductor: Harness) -> None:
    w = conductor.name("w")
    conductor.task_def("w")
    inline = {
        "name": conductor.name("inline_child"),
        "version": 1,
        "schemaVersion": 2,
        "tasks": [simple(w, "iw", x="${workflow.input.x}")],
        "outputParameters": {"x2": "${iw.output.x2}"},
    }
    name = define(
        conductor,
        "pinline",
        [
            {
                "name": "s",
                "taskReferenceName": "s",
                "type": "SUB_WORKFLOW",
                "inputParameters": {"x": 21},
                "subWorkflowParam": {"name": inline["name"], "workflowDefinition": inline},
            }
        ],
        output={"x2": "${s.output.x2}"},
    )
    doc = drive(conductor, conductor.workflows.start_workflow(name, {}), {w: lambda i: {"x2": i["x"] * 2}})
    assert doc["status"] == "COMPLETED"
    assert doc["output"] == {"x2": 42}


def test_dynamic_task_runs_the_named_worker(conductor: Harness) -> None:
    a, b = conductor.name("a"), conductor.name("b")
    name = define(
        conductor,
        "dyn",
        [
            {
                "name": "dyn",
                "taskReferenceName": "dyn",
                "type": "DYNAMIC",
                "dynamicTaskNameParam": "taskToExecute",
                "inputParameters": {"taskToExecute": "${workflow.input.which}", "v": 1},
            }
        ],
        workers=[a, b],
    )
    doc = drive(
        conductor,
        conductor.workflows.start_workflow(name, {"which": b}),
        {a: lambda i: {"by": "a"}, b: lambda i: {"by": "b"}},
    )
    assert doc["status"] == "COMPLETED"
    assert rows(doc) == [("dyn", b, "COMPLETED")]
    assert by_ref(doc)["dyn"]["outputData"] == {"by": "b"}


def test_fork_join_dynamic(conductor: Harness) -> None:
    w = conductor.name("w")
    name = define(
        conductor,
        "dfork",
        [
            {
                "name": "df",
                "taskReferenceName": "df",
                "type": "FORK_JOIN_DYNAMIC",
                "dynamicForkTasksParam": "dynamicTasks",
                "dynamicForkTasksInputParamName": "dynamicTasksInput",
                "inputParameters": {
                    "dynamicTasks": "${workflow.input.tasks}",
                    "dynamicTasksInput": "${workflow.input.inputs}",
                },
            },
            {"name": "dj", "taskReferenceName": "dj", "type": "JOIN"},
        ],
        output={"joined": "${dj.output}"},
        workers=[w],
    )
    tasks = [{"name": w, "taskReferenceName": f"d{i}", "type": "SIMPLE"} for i in range(3)]
    inputs = {f"d{i}": {"n": i} for i in range(3)}
    doc = drive(
        conductor,
        conductor.workflows.start_workflow(name, {"tasks": tasks, "inputs": inputs}),
        {w: lambda i: {"sq": i["n"] ** 2}},
    )
    assert doc["status"] == "COMPLETED"
    listed = rows(doc)
    assert listed[0] == ("df", "FORK", "COMPLETED")
    assert sorted(listed[1:]) == sorted(
        [("d0", w, "COMPLETED"), ("d1", w, "COMPLETED"), ("d2", w, "COMPLETED"), ("dj", "JOIN", "COMPLETED")]
    )
    join = by_ref(doc)["dj"]
    assert join["inputData"]["joinOn"] == ["d0", "d1", "d2"]
    assert join["outputData"] == {"d0": {"sq": 0}, "d1": {"sq": 1}, "d2": {"sq": 4}}
    assert by_ref(doc)["d2"]["inputData"] == {"n": 2}


def test_fork_inside_a_loop_and_an_optional_failing_script(conductor: Harness, server_kind: str) -> None:
    """Nesting: each iteration forks and joins on that iteration's tasks; an optional INLINE that throws is
    COMPLETED_WITH_ERRORS and the loop goes on."""
    w = conductor.name("w")
    body = [
        {
            "name": "fk",
            "taskReferenceName": "fk",
            "type": "FORK_JOIN",
            "forkTasks": [[simple(w, "b1", i=1)], [simple(w, "b2", i=2), simple(w, "b3", i=3)]],
        },
        {"name": "jn", "taskReferenceName": "jn", "type": "JOIN", "joinOn": ["b1", "b3"]},
        {
            "name": "bad",
            "taskReferenceName": "bad",
            "type": "INLINE",
            "optional": True,
            "inputParameters": {"evaluatorType": "javascript", "expression": "(function(){ throw new Error('x'); })()"},
        },
    ]
    loop = {
        "name": "lp",
        "taskReferenceName": "lp",
        "type": "DO_WHILE",
        "inputParameters": {},
        "loopCondition": "if ($.lp['iteration'] < 2) { true; } else { false; }",
        "loopOver": body,
    }
    name = define(conductor, "nested", [loop], workers=[w])
    doc = drive(conductor, conductor.workflows.start_workflow(name, {}), {w: lambda i: {"i": i["i"]}})
    assert doc["status"] == "COMPLETED"
    tasks = by_ref(doc)
    assert sorted(tasks) == sorted(
        ["lp"] + [f"{ref}__{n}" for n in (1, 2) for ref in ("fk", "b1", "b2", "b3", "jn", "bad")]
    )
    assert tasks["jn__2"]["outputData"] == {"b1__2": {"i": 1}, "b3__2": {"i": 3}}
    assert tasks["jn__2"]["inputData"] == {"joinOn": ["b1", "b3"]}
    assert tasks["bad__1"]["status"] == "COMPLETED_WITH_ERRORS"
    assert tasks["fk__2"]["taskType"] == "FORK" and tasks["fk__2"]["iteration"] == 2
    second = tasks["lp"]["outputData"]["2"]
    assert second["jn"] == {"b1__2": {"i": 1}, "b3__2": {"i": 3}}
    assert second["b3"] == {"i": 3} and second["fk"] == {}
    if server_kind != "netflix":
        assert second["bad"] == {"error": "Error evaluating the script `Error: x`"}


def test_start_delay_holds_a_worker_task_back(conductor: Harness) -> None:
    w = conductor.task_def("w")
    name = define(conductor, "delay", [{**simple(w, "t"), "startDelay": 2}])
    workflow_id = conductor.workflows.start_workflow(name, {})
    task = conductor.raw_tasks(workflow_id)[0]
    assert task["startDelayInSeconds"] == 2 and task["callbackAfterSeconds"] == 2
    assert conductor.tasks.poll(w) is None  # held back for 2 s (queue/sizes still counts it)
    assert conductor.raw.get("tasks/queue/sizes", params={"taskType": w}).json() == {w: 1}
    polled = conductor.poll_until(w, timeout=15)
    assert polled.task_id == task["taskId"]
