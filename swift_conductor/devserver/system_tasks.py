"""What each system task computes from its input, in the shapes the real servers show.

These functions only compute (a case, an output, a wait); the decider owns scheduling and state. Shapes were
taken from Netflix Conductor 3.15.0 and Conductor OSS 3.32.3 (see docs/embedded-server.md); where the two
differ, OSS is followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from .expressions import java_str
from .scripting import ScriptError, evaluate_js, jq_all

Json = Dict[str, Any]

#: Run inside the decide step that schedules them: they finish at once.
SYNC_TYPES = frozenset(
    {
        "SWITCH",
        "DECISION",
        "FORK_JOIN",
        "FORK_JOIN_DYNAMIC",
        "SET_VARIABLE",
        "TERMINATE",
        "INLINE",
        "JSON_JQ_TRANSFORM",
        "START_WORKFLOW",
    }
)
#: Stay IN_PROGRESS until the decider (JOIN, DO_WHILE, SUB_WORKFLOW), a timer or an update (WAIT, HUMAN), or
#: their outbound call (HTTP) ends them.
ASYNC_TYPES = frozenset({"JOIN", "DO_WHILE", "SUB_WORKFLOW", "WAIT", "HUMAN", "HTTP"})
#: Worker tasks: queued for polling. DYNAMIC becomes the worker task its input names.
WORKER_TYPES = frozenset({"SIMPLE", "CUSTOM", "DYNAMIC"})
SUPPORTED_TYPES = SYNC_TYPES | ASYNC_TYPES | WORKER_TYPES
JS_EVALUATORS = ("javascript", "graaljs")


@dataclass
class Outcome:
    """A sync task's result: COMPLETED with ``output``, or FAILED with ``reason``."""

    output: Json
    reason: Optional[str] = None
    terminal: bool = False  # FAILED_WITH_TERMINAL_ERROR rather than FAILED

    @property
    def status(self) -> str:
        if self.reason is None:
            return "COMPLETED"
        return "FAILED_WITH_TERMINAL_ERROR" if self.terminal else "FAILED"

    @property
    def failed(self) -> bool:
        return self.reason is not None


def switch(wt: Json, inputs: Json) -> tuple[str, List[Json], Json, Json]:
    """SWITCH / DECISION: (case, branch to run, inputData, outputData)."""
    if wt["type"] == "DECISION":
        expression = wt.get("caseExpression")
        if expression:
            value = evaluate_js(expression, inputs)
        else:
            value = inputs.get(wt.get("caseValueParam") or "")
    elif wt.get("evaluatorType") in JS_EVALUATORS:
        value = evaluate_js(wt.get("expression") or "", inputs)
    else:  # value-param
        value = inputs.get(wt.get("expression") or "")
    case = java_str(value)
    cases = wt.get("decisionCases") or {}
    branch = cases.get(case)
    if branch is None:
        branch = wt.get("defaultCase") or []
    if wt["type"] == "DECISION":
        data: Json = {"case": case}
        if branch:
            data = {"hasChildren": "true", "case": case}
        return case, branch, data, {"caseOutput": [case]}
    data = {"case": case}
    if branch:
        data["hasChildren"] = "true"
    data.update(inputs)
    return case, branch, data, {"evaluationResult": [case], "selectedCase": case}


def inline(inputs: Json) -> Outcome:
    """INLINE: ``{"result": value}`` of the expression (javascript/graaljs, or value-param)."""
    evaluator = inputs.get("evaluatorType")
    expression = inputs.get("expression")
    if not isinstance(expression, str) or not expression:
        return Outcome(
            {}, "Empty 'expression' in INLINE task's input parameters. A non-empty String value must be provided."
        )
    if evaluator in JS_EVALUATORS:
        try:
            return Outcome({"result": evaluate_js(expression, inputs)})
        except ScriptError as exc:  # as OSS: a terminal failure, the script's error in the output
            message = f"Error evaluating the script `{exc}`"
            return Outcome({"error": message}, message, terminal=True)
    if evaluator == "value-param":
        return Outcome({"result": inputs.get(expression)})
    return Outcome({}, f"Evaluator of type {evaluator} not found.")


def jq_transform(inputs: Json) -> Outcome:
    """JSON_JQ_TRANSFORM: the first result and all of them, over the whole inputData."""
    query = inputs.get("queryExpression")
    if not isinstance(query, str) or not query:
        return Outcome({"error": "Missing queryExpression"}, "Missing queryExpression")
    try:
        results = jq_all(query, inputs)
    except ScriptError as exc:
        return Outcome({"error": str(exc)}, str(exc))
    return Outcome({"result": results[0] if results else None, "resultList": results})


def loop_again(condition: str, bindings: Json) -> bool:
    """DO_WHILE's loopCondition, with ``$`` holding the loop input, the loop output and each body task's output."""
    return bool(evaluate_js(condition, bindings))


_DURATION = re.compile(
    r"^\s*(?:(\d+)\s*(?:days?|d))?\s*(?:(\d+)\s*(?:hours?|hrs?|h))?\s*(?:(\d+)\s*(?:minutes?|mins?|m))?"
    r"\s*(?:(\d+)\s*(?:seconds?|secs?|s))?\s*$",
    re.IGNORECASE,
)
_UNTIL_FORMATS = ("%Y-%m-%d %H:%M %Z", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def wait_seconds(inputs: Json, now_ms: int) -> tuple[Optional[float], Optional[str]]:
    """WAIT: seconds to wait (``duration`` like ``"2 seconds"``/``"1h 30m"``, or ``until`` a time), None to
    wait for an update; or an error for input the real server refuses."""
    duration = inputs.get("duration")
    until = inputs.get("until")
    if duration and until:
        return None, "Both 'duration' and 'until' specified. Please provide only one input"
    if isinstance(duration, str) and duration.strip():
        match = _DURATION.match(duration)
        if not match or not any(match.groups()):
            return None, f"Invalid duration: {duration}"
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds), None
    if isinstance(until, str) and until.strip():
        text = until.strip().replace("UTC", "GMT")
        for fmt in _UNTIL_FORMATS:
            try:
                moment = datetime.strptime(text.replace("GMT", "").strip() if "%Z" not in fmt else text, fmt)
            except ValueError:
                continue
            moment = moment.replace(tzinfo=timezone.utc)
            return max(0.0, moment.timestamp() - now_ms / 1000.0), None
        return None, f"Invalid until: {until}"
    return None, None


def terminate(inputs: Json) -> tuple[str, Optional[str], Json]:
    """TERMINATE: (workflow status, reason, workflow output)."""
    status = inputs.get("terminationStatus")
    if status not in ("COMPLETED", "FAILED", "TERMINATED"):
        status = "COMPLETED"
    reason = inputs.get("terminationReason")
    output = inputs.get("workflowOutput")
    return str(status), reason if isinstance(reason, str) else None, output if isinstance(output, dict) else {}
