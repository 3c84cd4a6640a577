"""Task and workflow definitions: the real server's defaults and the validation rules it applies.

Definitions are kept as plain JSON dicts in the shape the real server returns them.
"""

from __future__ import annotations

import math
import time
from typing import Any, Dict, List

from .errors import ApiError, server_error, validation, violation
from .expressions import referenced_roots
from .graph import walk
from .scripting import EXTRA_HINT, has_javascript, has_jq
from .system_tasks import JS_EVALUATORS, SUPPORTED_TYPES

#: Task types the embedded engine can run; anything else is rejected at registration.
SUPPORTED_TASK_TYPES = SUPPORTED_TYPES
RETRY_LOGICS = ("FIXED", "EXPONENTIAL_BACKOFF", "LINEAR_BACKOFF")
TIMEOUT_POLICIES = ("RETRY", "TIME_OUT_WF", "ALERT_ONLY")

_TASK_DEF_INTS = (
    "retryCount",
    "timeoutSeconds",
    "retryDelaySeconds",
    "responseTimeoutSeconds",
    "rateLimitPerFrequency",
    "rateLimitFrequencyInSeconds",
    "backoffScaleFactor",
    "concurrentExecLimit",
    "pollTimeoutSeconds",
)


def now_ms() -> int:
    return int(time.time() * 1000)


def task_def_defaults(name: str) -> Dict[str, Any]:
    """The values the real server fills in for a task definition (also used for ad-hoc definitions)."""
    return {
        "accessPolicy": {},
        "name": name,
        "retryCount": 3,
        "timeoutSeconds": 0,
        "inputKeys": [],
        "outputKeys": [],
        "timeoutPolicy": "TIME_OUT_WF",
        "retryLogic": "FIXED",
        "retryDelaySeconds": 60,
        "responseTimeoutSeconds": 3600,
        "inputTemplate": {},
        "rateLimitPerFrequency": 0,
        "rateLimitFrequencyInSeconds": 1,
        "backoffScaleFactor": 1,
    }


_JAVA_INT_MIN, _JAVA_INT_MAX = -(2**31), 2**31 - 1


def _as_int(value: Any, field: str, owner: str) -> int:
    """Jackson's int coercion: ints and numeric strings pass, anything else is a 500 parse error."""
    if isinstance(value, bool):
        raise server_error(
            f"JSON parse error: Cannot deserialize value of type `int` from Boolean value ({owner}.{field})"
        )
    number: Any = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value == int(value):
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            pass
    if number is not None:
        if not _JAVA_INT_MIN <= number <= _JAVA_INT_MAX:
            raise server_error(f"JSON parse error: Numeric value ({value}) out of range of int ({owner}.{field})")
        return int(number)
    raise server_error(
        f'JSON parse error: Cannot deserialize value of type `int` from {type(value).__name__} "{value}": '
        f"not a valid `int` value ({owner}.{field})"
    )


def _require_object(value: Any, what: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise server_error(
            f"JSON parse error: Cannot deserialize value of type `{what}` from {_json_kind(value)} value"
        )
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, str):
        return "String"
    return "scalar"


def require_list(value: Any, what: str) -> List[Any]:
    if not isinstance(value, list):
        raise server_error(
            f"JSON parse error: Cannot deserialize value of type `java.util.ArrayList<{what}>` "
            f"from {_json_kind(value)} value"
        )
    return value


def normalize_task_def(raw: Any, path: str, errors: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Merge ``raw`` over the defaults; type errors raise (500), rule violations append to ``errors``."""
    raw = _require_object(raw, "TaskDef")
    name = raw.get("name")
    td = task_def_defaults(name if isinstance(name, str) else "")
    td.update({k: v for k, v in raw.items() if v is not None})
    for field in _TASK_DEF_INTS:
        if field in td:
            td[field] = _as_int(td[field], field, "TaskDef")
    if td["retryLogic"] not in RETRY_LOGICS:
        raise server_error(
            f"JSON parse error: Cannot deserialize value of type `TaskDef$RetryLogic` from String "
            f'"{td["retryLogic"]}": not one of the values accepted for Enum class: '
            "[FIXED, EXPONENTIAL_BACKOFF, LINEAR_BACKOFF]"
        )
    if td["timeoutPolicy"] not in TIMEOUT_POLICIES:
        raise server_error(
            f"JSON parse error: Cannot deserialize value of type `TaskDef$TimeoutPolicy` from String "
            f'"{td["timeoutPolicy"]}": not one of the values accepted for Enum class: [RETRY, TIME_OUT_WF, ALERT_ONLY]'
        )
    if not isinstance(name, str) or not name:
        errors.append(violation(f"{path}.name", "TaskDef name cannot be null or empty"))
    if td["retryCount"] < 0:
        # The real server's message prints 0 here, not the value; kept as is.
        errors.append(violation(f"{path}.retryCount", "TaskDef retryCount: 0 must be >= 0", td["retryCount"]))
    if td["responseTimeoutSeconds"] < 1:
        errors.append(
            violation(
                f"{path}.responseTimeoutSeconds",
                f"TaskDef responseTimeoutSeconds: {td['responseTimeoutSeconds']} should be minimum 1 second",
                td["responseTimeoutSeconds"],
            )
        )
    if td["timeoutSeconds"] > 0 and td["responseTimeoutSeconds"] > td["timeoutSeconds"]:
        errors.append(
            violation(
                path,
                f"TaskDef: {td['name']} responseTimeoutSeconds: {td['responseTimeoutSeconds']} "
                f"must be less than timeoutSeconds: {td['timeoutSeconds']}",
            )
        )
    return td


def _normalize_workflow_task(raw: Any) -> Dict[str, Any]:
    raw = _require_object(raw, "WorkflowTask")
    wt: Dict[str, Any] = {
        "inputParameters": {},
        "type": "SIMPLE",
        "startDelay": 0,
        "optional": False,
        "asyncComplete": False,
    }
    wt.update({k: v for k, v in raw.items() if v is not None})
    if not isinstance(wt["inputParameters"], dict):
        raise server_error("JSON parse error: Cannot deserialize value of type `java.util.Map` for inputParameters")
    for key in ("loopOver", "defaultCase"):
        if isinstance(wt.get(key), list):
            wt[key] = [_normalize_workflow_task(t) for t in wt[key]]
    if isinstance(wt.get("decisionCases"), dict):
        wt["decisionCases"] = {
            k: [_normalize_workflow_task(t) for t in v] if isinstance(v, list) else v
            for k, v in wt["decisionCases"].items()
        }
    if isinstance(wt.get("forkTasks"), list):
        wt["forkTasks"] = [
            [_normalize_workflow_task(t) for t in branch] if isinstance(branch, list) else branch
            for branch in wt["forkTasks"]
        ]
    if "taskDefinition" in wt:  # an inline task definition gets the same defaults and checks as a registered one
        problems: List[Dict[str, Any]] = []
        wt["taskDefinition"] = normalize_task_def(wt["taskDefinition"], "taskDefinition", problems)
        if problems:
            raise server_error(f"invalid inline taskDefinition: {problems[0]['message']}")
    return wt


def normalize_workflow_def(raw: Any, path: str, errors: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Fill the real server's workflow-def defaults and check the rules it checks, plus supported types."""
    raw = _require_object(raw, "WorkflowDef")
    wd: Dict[str, Any] = {
        "accessPolicy": {},
        "version": 1,
        "tasks": [],
        "inputParameters": [],
        "outputParameters": {},
        "schemaVersion": 2,
        "restartable": True,
        "workflowStatusListenerEnabled": False,
        "timeoutPolicy": "ALERT_ONLY",
        "timeoutSeconds": 0,
        "variables": {},
        "inputTemplate": {},
    }
    wd.update({k: v for k, v in raw.items() if v is not None})
    wd["version"] = _as_int(wd["version"], "version", "WorkflowDef")
    wd["schemaVersion"] = _as_int(wd["schemaVersion"], "schemaVersion", "WorkflowDef")
    wd["timeoutSeconds"] = _as_int(wd["timeoutSeconds"], "timeoutSeconds", "WorkflowDef")
    if not isinstance(wd["tasks"], list):
        raise server_error("JSON parse error: Cannot deserialize value of type `java.util.ArrayList` for tasks")
    if not isinstance(wd["outputParameters"], dict):
        raise server_error("JSON parse error: Cannot deserialize value of type `java.util.Map` for outputParameters")
    wd["tasks"] = [_normalize_workflow_task(t) for t in wd["tasks"]]
    name = wd.get("name")
    if not isinstance(name, str) or not name:
        errors.append(violation(f"{path}.name", "WorkflowDef name cannot be null or empty"))
    if wd["schemaVersion"] != 2:
        errors.append(
            violation(f"{path}.schemaVersion", "workflowDef schemaVersion: 2 is only supported", wd["schemaVersion"])
        )
    if not wd["tasks"]:
        errors.append(violation(f"{path}.tasks", "WorkflowTask list cannot be empty"))
    refs: List[str] = []
    everything = list(walk(wd["tasks"]))
    top = {id(wt): i for i, wt in enumerate(wd["tasks"])}
    for wt in everything:
        where = f"{path}.tasks[{top[id(wt)]}]" if id(wt) in top else f"{path}.tasks"
        ref = wt.get("taskReferenceName")
        if not isinstance(wt.get("name"), str) or not wt.get("name"):
            errors.append(violation(f"{where}.name", "WorkflowTask name cannot be empty or null"))
        if not isinstance(ref, str) or not ref:
            errors.append(
                violation(
                    f"{where}.taskReferenceName",
                    "WorkflowTask taskReferenceName name cannot be empty or null",
                )
            )
            continue
        if ref in refs:
            errors.append(
                violation(
                    path,
                    f"taskReferenceName: {ref} should be unique across tasks for a given workflowDefinition: {name}",
                )
            )
        refs.append(ref)
        if wt["type"] not in SUPPORTED_TASK_TYPES:
            errors.append(
                violation(
                    f"{where}.type",
                    f"task type {wt['type']} (taskReferenceName: {ref}) is not supported by the embedded server; "
                    f"supported: {', '.join(sorted(SUPPORTED_TASK_TYPES))}",
                    wt["type"],
                )
            )
        else:
            problem = _task_problem(wt)
            if problem:
                errors.append(violation(f"{where}", f"{problem} (taskReferenceName: {ref})"))
    known = set(refs) | {"workflow", "CPEWF_TASK_ID"}
    for wt in everything:
        params = wt.get("inputParameters")
        if not isinstance(params, dict):
            continue
        for root, expr in referenced_roots(params).items():
            if root not in known:
                key = next((k for k, v in params.items() if expr in str(v)), "")
                errors.append(
                    violation(
                        path,
                        f"taskReferenceName: {root} for given task: {wt.get('name')} input value: {key} "
                        f"of input parameter: {expr} is not defined in workflow definition.",
                    )
                )
    return wd


def _needs(wt: Dict[str, Any]) -> str:
    """Which optional engine a workflow task needs: "js", "jq" or ""."""
    kind = wt["type"]
    params = wt.get("inputParameters") or {}
    if kind == "INLINE" and params.get("evaluatorType") in JS_EVALUATORS:
        return "js"
    if kind == "SWITCH" and wt.get("evaluatorType") in JS_EVALUATORS:
        return "js"
    if (kind == "DECISION" and wt.get("caseExpression")) or kind == "DO_WHILE":
        return "js"
    if kind == "JSON_JQ_TRANSFORM":
        return "jq"
    return ""


def _task_problem(wt: Dict[str, Any]) -> str:
    """A definition the engine cannot run: a missing required field, or an engine that is not installed."""
    kind = wt["type"]
    if kind == "SWITCH" and not wt.get("expression"):
        return "SWITCH needs an 'expression' (and 'evaluatorType': value-param or javascript)"
    if kind == "DECISION" and not (wt.get("caseValueParam") or wt.get("caseExpression")):
        return "DECISION needs 'caseValueParam' or 'caseExpression'"
    if kind == "FORK_JOIN" and not wt.get("forkTasks"):
        return "FORK_JOIN needs a non-empty 'forkTasks' list of branches"
    if kind == "DO_WHILE" and not wt.get("loopCondition"):
        return "DO_WHILE needs a 'loopCondition'"
    if kind == "SUB_WORKFLOW" and not isinstance(wt.get("subWorkflowParam"), dict):
        return "SUB_WORKFLOW needs 'subWorkflowParam' with a 'name' (and 'version') or a 'workflowDefinition'"
    need = _needs(wt)
    if need == "js" and not has_javascript():
        return f"task type {kind} evaluates JavaScript, which needs the optional JavaScript engine: {EXTRA_HINT}"
    if need == "jq" and not has_jq():
        return f"task type {kind} runs jq, which needs the optional jq package: {EXTRA_HINT}"
    return ""


def check(errors: List[Dict[str, Any]]) -> None:
    if errors:
        raise validation(errors)


__all__ = [
    "SUPPORTED_TASK_TYPES",
    "ApiError",
    "check",
    "normalize_task_def",
    "normalize_workflow_def",
    "now_ms",
    "require_list",
    "task_def_defaults",
]
