"""``${...}`` in inputParameters and outputParameters: whole values, nesting, embedding, escapes, misses."""

from __future__ import annotations

import pytest
from conformance_harness import Harness

from swift_conductor.http.models.task_result_status import TaskResultStatus

pytestmark = pytest.mark.timeout(60)


def test_workflow_expressions(conductor: Harness) -> None:
    task = conductor.task_def("a")
    params = {
        "x": "${workflow.input.x}",
        "all": "${workflow.input}",
        "deep": "${workflow.input.y.z}",
        "nested": {"l": ["${workflow.input.x}", {"d": "${workflow.input.y.z}"}], "lit": 5},
        "id": "${workflow.workflowId}",
        "cid": "${workflow.correlationId}",
        "type": "${workflow.workflowType}",
        "version": "${workflow.version}",
        "status": "${workflow.status}",
        "missing": "${workflow.input.nope}",
        "index": "${workflow.input.l[1]}",
        "embedded": "id=${workflow.workflowId} x=${workflow.input.x}",
        "emb_null": "a${workflow.input.nope}b",
        "emb_bool": "v=${workflow.input.b}",
        "emb_float": "f=${workflow.input.f}",
        "emb_list": "${workflow.input.b} ${workflow.input.l}",
        "emb_map": "m=${workflow.input.y}",
        "escaped": "$${workflow.input.x}",
        "plain": "no expression",
    }
    wf = conductor.single_task_workflow(task, params=params)
    workflow_input = {"x": 7, "y": {"z": "zz"}, "b": True, "f": 1.5, "l": [1, "two", None]}
    workflow_id = conductor.workflows.start_workflow(wf, workflow_input, correlation_id="corr")
    got = conductor.poll_one(task).input_data
    assert got == {
        "x": 7,
        "all": workflow_input,
        "deep": "zz",
        "nested": {"l": [7, {"d": "zz"}], "lit": 5},
        "id": workflow_id,
        "cid": "corr",
        "type": wf,
        "version": 1,
        "status": "RUNNING",
        "missing": None,
        "index": "two",
        "embedded": f"id={workflow_id} x=7",
        "emb_null": "anullb",
        "emb_bool": "v=true",
        "emb_float": "f=1.5",
        "emb_list": "true [1, two, null]",
        "emb_map": "m={z=zz}",
        "escaped": "${workflow.input.x}",
        "plain": "no expression",
    }


def test_task_reference_expressions(conductor: Harness) -> None:
    a, b = conductor.task_def("a"), conductor.task_def("b")
    wf = conductor.workflow(
        "wf",
        [
            (a, "a", {"x": "${workflow.input.x}"}),
            (
                b,
                "b",
                {
                    "out": "${a.output}",
                    "y": "${a.output.y}",
                    "ax": "${a.input.x}",
                    "deep": "${a.output.d.e[1]}",
                    "status": "${a.status}",
                    "tid": "${a.taskId}",
                    "miss": "${a.output.q.r.s}",
                    "emb": "pre-${a.output.y}-post",
                    "emb_obj": "pre-${a.output.d}-post",
                },
            ),
        ],
        {"result": "${b.output.z}", "wid": "${workflow.workflowId}", "both": ["${a.output.y}", "${b.output.z}"]},
    )
    workflow_id = conductor.workflows.start_workflow(wf, {"x": 1})
    first = conductor.poll_one(a)
    conductor.complete(first, {"y": "Y", "d": {"e": [1, 2, 3]}})
    second = conductor.poll_one(b)
    assert second.input_data == {
        "out": {"y": "Y", "d": {"e": [1, 2, 3]}},
        "y": "Y",
        "ax": 1,
        "deep": 2,
        "status": "COMPLETED",
        "tid": first.task_id,
        "miss": None,
        "emb": "pre-Y-post",
        "emb_obj": "pre-{e=[1, 2, 3]}-post",
    }
    conductor.complete(second, {"z": "Z"})
    assert conductor.workflow_state(workflow_id).output == {"result": "Z", "wid": workflow_id, "both": ["Y", "Z"]}


def test_output_parameters_of_failed_workflow_use_what_exists(conductor: Harness) -> None:
    a, b = conductor.task_def("a"), conductor.task_def("b")
    wf = conductor.workflow("wf", [(a, "a", {}), (b, "b", {})], {"ay": "${a.output.y}", "bz": "${b.output.z}"})
    workflow_id = conductor.workflows.start_workflow(wf, {})
    conductor.complete(conductor.poll_one(a), {"y": 1})
    conductor.update(conductor.poll_one(b), TaskResultStatus.FAILED)
    state = conductor.workflow_state(workflow_id)
    assert state.status == "FAILED"
    assert state.output == {"ay": 1, "bz": None}
