"""Request routing: both path dialects (Netflix/OSS and Swift 3.16) onto the one engine.

Pure functions of (method, path, query, headers, body) -> Response, with no socket code, so the
routing and the real server's error conventions can be read in one place.
"""

from __future__ import annotations

import json
import logging
import math
import socket
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, unquote

from . import errors
from .errors import ApiError
from .state import Engine, encode

logger = logging.getLogger("swift_conductor.devserver")

#: (status, content type or None, body)
Response = Tuple[int, Optional[str], bytes]
Query = Dict[str, List[str]]
Handler = Callable[["Request"], Response]

JSON = "application/json"
TEXT = "text/plain;charset=UTF-8"
_HEALTH = encode({"healthResults": [], "suppressedHealthResults": [], "healthy": True})
_EMPTY: Response = (200, None, b"")
_NO_CONTENT: Response = (204, None, b"")


class Request:
    """One parsed request; ``params`` are the ``{...}`` path segments in order."""

    __slots__ = ("body", "content_type", "method", "params", "path", "query")

    def __init__(self, method: str, path: str, query: Query, content_type: Optional[str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.content_type = content_type
        self.body = body
        self.params: List[str] = []

    def arg(self, name: str) -> Optional[str]:
        values = self.query.get(name)
        return values[0] if values else None

    def int_arg(self, name: str, default: Optional[int], java_type: str = "int") -> Optional[int]:
        raw = self.arg(name)
        if raw is None or (raw == "" and java_type != "int"):
            return default
        try:
            return int(raw)
        except ValueError:
            raise errors.server_error(
                f"Failed to convert value of type 'java.lang.String' to required type '{java_type}'; nested exception "
                f'is java.lang.NumberFormatException: For input string: "{raw}"'
            ) from None

    def json(self) -> Any:
        """The JSON body, failing the way Spring does (500) for a wrong content type, no body or bad JSON."""
        ctype = self.content_type or "application/octet-stream"
        if "json" not in ctype.lower():
            raise errors.server_error(f"Content type '{ctype}' not supported")
        if not self.body:
            raise errors.server_error("Required request body is missing")
        try:
            return json.loads(self.body, parse_constant=_reject_constant, parse_float=_finite_float)
        except ValueError as exc:
            raise errors.server_error(f"JSON parse error: {exc}") from None

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def _reject_constant(name: str) -> Any:
    """NaN and Infinity are not JSON: the real server (Jackson) refuses them with a 500, and so do we."""
    raise ValueError(f"Non-standard token '{name}'")


def _finite_float(text: str) -> Any:
    """A JSON number too large for a double: Jackson reads it as Infinity and writes it back as the string
    "Infinity"; keeping that string means we never emit invalid JSON and integer fields still refuse it."""
    value = float(text)
    if math.isfinite(value):
        return value
    return "Infinity" if value > 0 else "-Infinity"


def _segments(path: str) -> List[str]:
    """Split ``/api/...`` into segments and map the Swift 3.16 dialect onto the Netflix one."""
    segs = [unquote(s) for s in path.split("/") if s]
    if len(segs) > 1:
        if segs[1] == "task":
            segs[1] = "tasks"
        elif segs[1] == "metadata" and len(segs) > 2:
            if segs[2] == "taskdef":
                segs[2] = "taskdefs"
            elif segs[2] == "workflowdef":
                segs[2] = "workflow"
        if len(segs) > 3 and segs[1] == "tasks" and segs[2] == "queue" and segs[3] == "poll-data":
            segs[3] = "polldata"
    return segs


class Api:
    """Maps requests to engine calls and engine errors to the real server's JSON error bodies."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.instance = socket.gethostname()
        # (segment count, first two segments) -> [(method, pattern, handler)]; "*" matches any one segment.
        self._routes: Dict[Tuple[int, str, str], List[Tuple[str, Tuple[str, ...], Handler]]] = {}
        e = engine
        add = self._add
        add("GET", "/health", lambda r: (200, JSON, _HEALTH))
        add("GET", "/api/tasks/poll/batch/*", self._batch_poll)
        add("GET", "/api/tasks/poll/*", self._poll)
        add("POST", "/api/tasks", lambda r: (200, TEXT, e.update_task(r.json()).encode()))
        add("POST", "/api/tasks/update-v2", self._update_v2)
        add("GET", "/api/tasks/queue/sizes", self._queue_sizes)
        add("GET", "/api/tasks/queue/polldata", self._poll_data)
        add("POST", "/api/tasks/*/log", self._add_log)
        add("GET", "/api/tasks/*/log", lambda r: (200, JSON, _oldest_first(e.get_logs(r.params[0]))))
        add("GET", "/api/tasks/*", self._get_task)
        add("POST", "/api/metadata/taskdefs", lambda r: _void(e.register_task_defs, r.json()))
        add("PUT", "/api/metadata/taskdefs", lambda r: _void(e.update_task_def, r.json()))
        add("GET", "/api/metadata/taskdefs", lambda r: (200, JSON, e.get_task_defs()))
        add("GET", "/api/metadata/taskdefs/*", lambda r: (200, JSON, e.get_task_def(r.params[0])))
        add("DELETE", "/api/metadata/taskdefs/*", lambda r: _void(e.delete_task_def, r.params[0]))
        add("POST", "/api/metadata/workflow", self._register_workflow_def)
        add("PUT", "/api/metadata/workflow", lambda r: (200, JSON, e.upsert_workflow_defs(r.json())))
        add("GET", "/api/metadata/workflow", lambda r: (200, JSON, e.get_workflow_defs()))
        add("GET", "/api/metadata/workflow/*", self._get_workflow_def)
        add("DELETE", "/api/metadata/workflow/*/*", self._delete_workflow_def)
        add("POST", "/api/workflow", self._start_request)
        add("POST", "/api/workflow/*", self._start_by_name)
        add("GET", "/api/workflow/*", self._get_workflow)
        add("DELETE", "/api/workflow/*", lambda r: _void(e.terminate, r.params[0], r.arg("reason")))
        add("DELETE", "/api/workflow/*/remove", lambda r: _void(e.remove_finished, r.params[0]))
        add("PUT", "/api/workflow/decide/*", lambda r: _void(e.decide, r.params[0]))
        if e.clock.controllable:  # test-only routes; without time control they are unknown paths (404)
            add("POST", "/api/test/clock/advance", self._advance_clock)
            add("GET", "/api/test/clock", lambda r: (200, JSON, e.clock_state()))
        for routes in self._routes.values():
            routes.sort(key=lambda route: -sum(1 for s in route[1] if s != "*"))

    def _add(self, method: str, path: str, handler: Handler) -> None:
        pattern = tuple(s for s in path.split("/") if s)
        key = (len(pattern), pattern[0], pattern[1] if len(pattern) > 1 else "")
        self._routes.setdefault(key, []).append((method, pattern, handler))

    # ------------------------------------------------------------------ dispatch
    def dispatch(self, method: str, target: str, content_type: Optional[str], body: bytes) -> Response:
        path, _, raw_query = target.partition("?")
        segs = _segments(path)
        request = Request(
            method, path, parse_qs(raw_query, keep_blank_values=True) if raw_query else {}, content_type, body
        )
        try:
            handler = self._match(request, segs)
            if handler is None:
                return self._not_found(path)
            return handler(request)
        except ApiError as exc:
            return exc.status, JSON, encode(exc.body(self.instance))
        except Exception as exc:  # never let one request take the server down
            logger.exception("unexpected error handling %s %s", method, path)
            return 500, JSON, encode(errors.server_error(f"{type(exc).__name__}: {exc}").body(self.instance))

    def _match(self, request: Request, segs: List[str]) -> Optional[Handler]:
        routes = self._routes.get((len(segs), segs[0] if segs else "", segs[1] if len(segs) > 1 else ""))
        if not routes:
            return None
        other_method = False
        for method, pattern, handler in routes:
            params = []
            for want, got in zip(pattern, segs):
                if want == "*":
                    params.append(got)
                elif want != got:
                    break
            else:
                if method == request.method:
                    request.params = params
                    return handler
                other_method = True
        if other_method:
            raise errors.server_error(f"Request method '{request.method}' not supported")
        return None

    @staticmethod
    def _not_found(path: str) -> Response:
        stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        return 404, JSON, encode({"timestamp": stamp, "status": 404, "error": "Not Found", "path": path})

    # ------------------------------------------------------------------ handlers
    def _poll(self, r: Request) -> Response:
        # The real single poll is a batch poll of one with a ~100 ms wait; ours returns as soon as a task is ready.
        body = self.engine.poll(r.params[0], r.arg("workerid"), r.arg("domain"), 1, 100)
        if body == b"[]":
            return _NO_CONTENT
        return 200, JSON, body[1:-1]

    def _update_v2(self, r: Request) -> Response:
        result = r.json()
        if isinstance(result, dict):
            missing = [f for f in _V2_REQUIRED if not isinstance(result.get(f), str) or not result.get(f)]
            if missing:  # OSS validates this body with @Valid, which its error handler answers with a 500
                raise errors.server_error(_v2_validation_message(result, missing))
        body = self.engine.update_task_v2(result)
        return _NO_CONTENT if body is None else (200, JSON, body)

    def _batch_poll(self, r: Request) -> Response:
        count = r.int_arg("count", 1) or 0
        timeout = r.int_arg("timeout", 100) or 0
        return 200, JSON, self.engine.poll(r.params[0], r.arg("workerid"), r.arg("domain"), count, timeout)

    def _queue_sizes(self, r: Request) -> Response:
        names = r.query.get("taskType")
        if not names:
            raise errors.server_error('Cannot invoke "java.util.List.iterator()" because "taskDefNames" is null')
        return 200, JSON, self.engine.queue_sizes(names)

    def _poll_data(self, r: Request) -> Response:
        task_type = r.arg("taskType")
        if task_type is None:
            raise errors.bad_request(
                "Required request parameter 'taskType' for method parameter type String is not present"
            )
        return 200, JSON, self.engine.poll_data(task_type)

    def _add_log(self, r: Request) -> Response:
        self.engine.add_log(r.params[0], r.text())
        return _EMPTY

    def _get_task(self, r: Request) -> Response:
        body = self.engine.get_task(r.params[0])
        return _NO_CONTENT if body is None else (200, JSON, body)

    def _register_workflow_def(self, r: Request) -> Response:
        body = r.json()
        try:
            self.engine.register_workflow_def(body)
        except ApiError as exc:
            # OSS 3.32 reads ?overwrite=true (conductor-python sends it) and updates instead; 3.15 ignores it (409).
            if exc.status != 409 or (r.arg("overwrite") or "").lower() not in _SPRING_TRUE:
                raise
            self.engine.upsert_workflow_defs([body])
        return _EMPTY

    def _get_workflow_def(self, r: Request) -> Response:
        version = r.int_arg("version", None, "java.lang.Integer")
        return 200, JSON, self.engine.get_workflow_def(r.params[0], version)

    def _delete_workflow_def(self, r: Request) -> Response:
        name, raw_version = r.params
        try:
            version = int(raw_version)
        except ValueError:
            raise errors.server_error(
                f"Failed to convert value of type 'java.lang.String' to required type 'java.lang.Integer'; nested "
                f'exception is java.lang.NumberFormatException: For input string: "{raw_version}"'
            ) from None
        self.engine.delete_workflow_def(name, version)
        return _EMPTY

    def _start_by_name(self, r: Request) -> Response:
        version = r.int_arg("version", None, "java.lang.Integer")
        workflow_id = self.engine.start_workflow(r.params[0], version, r.arg("correlationId"), r.json())
        return 200, TEXT, workflow_id.encode()

    def _start_request(self, r: Request) -> Response:
        req = r.json()
        if not isinstance(req, dict):
            raise errors.server_error("JSON parse error: Cannot deserialize value of type `StartWorkflowRequest`")
        name = req.get("name")
        if not isinstance(name, str) or not name:
            raise errors.validation(
                [errors.violation("startWorkflow.startWorkflowRequest.name", "Workflow name cannot be null or empty")]
            )
        version = req.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise errors.server_error(
                f"JSON parse error: Cannot deserialize value of type `java.lang.Integer` from {version!r}"
            )
        workflow_input = req.get("input")
        workflow_id = self.engine.start_workflow(
            name,
            version,
            req.get("correlationId"),
            {} if workflow_input is None else workflow_input,
            req.get("taskToDomain"),
            req.get("priority"),
        )
        return 200, TEXT, workflow_id.encode()

    def _advance_clock(self, r: Request) -> Response:
        raw = r.arg("seconds")
        if raw is None:
            raise errors.bad_request("Required request parameter 'seconds' (a number of seconds >= 0) is not present")
        try:
            seconds = float(raw)
        except ValueError:
            raise errors.bad_request(f"seconds must be a number of seconds >= 0, got {raw!r}") from None
        try:
            now = self.engine.advance(seconds)
        except ValueError as exc:
            raise errors.bad_request(str(exc)) from None
        return 200, JSON, encode({"now": now})

    def _get_workflow(self, r: Request) -> Response:
        include = (r.arg("includeTasks") or "true").lower() != "false"
        return 200, JSON, self.engine.get_workflow(r.params[0], include)


#: what Spring reads as true in a boolean request parameter
_SPRING_TRUE = ("true", "on", "yes", "1")

#: update-v2's required fields and their messages, in the order OSS 3.32 lists them
_V2_REQUIRED = {
    "workflowInstanceId": "Workflow Id cannot be null or empty",
    "taskId": "Task ID cannot be null or empty",
}


def _v2_validation_message(result: Dict[str, Any], missing: List[str]) -> str:
    """Spring's MethodArgumentNotValidException text, as OSS 3.32 returns it for update-v2."""
    fields = []
    for name in missing:
        value = result.get(name)
        fields.append(
            f"[Field error in object 'taskResult' on field '{name}': rejected value "
            f"[{'null' if value is None else value}]; codes [NotEmpty.taskResult.{name},NotEmpty.{name},"
            "NotEmpty.java.lang.String,NotEmpty]; arguments [org.springframework.context.support."
            f"DefaultMessageSourceResolvable: codes [taskResult.{name},{name}]; arguments []; default message "
            f"[{name}]]; default message [{_V2_REQUIRED[name]}]]"
        )
    return (
        "Validation failed for argument [0] in public org.springframework.http.ResponseEntity<com.netflix.conductor."
        "common.metadata.tasks.Task> com.netflix.conductor.rest.controllers.TaskResource.updateTaskV2(com.netflix."
        "conductor.common.metadata.tasks.TaskResult)"
        + (f" with {len(missing)} errors" if len(missing) > 1 else "")
        + ": "
        + " ".join(fields)
        + " "
    )


def _oldest_first(logs: bytes) -> bytes:
    """Task logs by createdTime, as OSS 3.32 lists them (a result's logs carry the worker's own timestamps)."""
    entries = json.loads(logs)
    entries.sort(key=lambda e: e["createdTime"] if isinstance(e.get("createdTime"), (int, float)) else 0)
    return encode(entries)


def _void(call: Callable[..., None], *args: Any) -> Response:
    """Run an engine call that answers nothing: the real server's 200 with an empty body."""
    call(*args)
    return _EMPTY
