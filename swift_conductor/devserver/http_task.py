"""The HTTP system task: a real outbound request, made off the engine lock in a thread of its own.

The request and response shapes are the real servers': input ``http_request: {uri, method, headers, body,
contentType, accept, connectionTimeOut, readTimeOut}``; output ``response: {headers, reasonPhrase, body,
statusCode}`` with JSON bodies parsed; a status outside 2xx fails the task with the server's wording.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from http.client import responses
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

Json = Dict[str, Any]
DEFAULT_TIMEOUT_SECONDS = 10.0  # each of connect and read, unless the task says otherwise (in ms)
#: No proxy from the environment: the request goes where the task says, as from the real server.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value) / 1000.0
    return DEFAULT_TIMEOUT_SECONDS


def request_of(inputs: Json) -> Json:
    """The request description, from ``http_request`` (both servers) or the task input itself (OSS's flat form)."""
    spec = inputs.get("http_request")
    return spec if isinstance(spec, dict) else inputs


def _decode(raw: bytes) -> Any:
    """JSON bodies parsed, anything else as text (as the real servers return them)."""
    text = raw.decode("utf-8", errors="replace")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def perform(inputs: Json) -> Tuple[str, Json, Optional[str]]:
    """Make the call; returns (task status, outputData, reason)."""
    spec = request_of(inputs)
    uri = spec.get("uri")
    method = str(spec.get("method") or "GET").upper()
    if not isinstance(uri, str) or not uri:
        reason = "Missing HTTP URI. See documentation for HttpTask for required input parameters"
        return "FAILED", {}, reason
    headers = {str(k): str(v) for k, v in (spec.get("headers") or {}).items()}
    content_type = spec.get("contentType") or "application/json"
    headers.setdefault("Content-Type", str(content_type))
    headers.setdefault("Accept", str(spec.get("accept") or "application/json"))
    body = spec.get("body")
    data: Optional[bytes] = None
    if body is not None and method not in ("GET", "HEAD"):
        data = (body if isinstance(body, str) else json.dumps(body)).encode("utf-8")
    request = urllib.request.Request(uri, data=data, method=method, headers=headers)
    timeout = max(_seconds(spec.get("connectionTimeOut")), _seconds(spec.get("readTimeOut")))
    try:
        with _OPENER.open(request, timeout=timeout) as reply:
            status = reply.status
            raw = reply.read()
            reply_headers = reply.headers
    except urllib.error.HTTPError as exc:
        status = exc.code
        raw = exc.read()
        reply_headers = exc.headers
    except Exception as exc:  # connection refused, timeout, bad URL: the task fails with the cause
        message = f"java.lang.Exception: {type(exc).__name__}: {exc}"
        return "FAILED", {"response": message}, f"Failed to invoke HTTP task due to: {message}"
    response: Json = {
        "headers": {name: reply_headers.get_all(name) for name in dict.fromkeys(reply_headers.keys())},
        "reasonPhrase": responses.get(status, ""),
        "body": _decode(raw),
        "statusCode": status,
    }
    if 200 <= status < 300:
        return "COMPLETED", {"response": response}, None
    parts = urlsplit(uri)
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    message = (
        f'java.lang.Exception: {status} {responses.get(status, "")} on {method} request for "{bare}": '
        f'"{raw.decode("utf-8", errors="replace")}"'
    )
    return "FAILED", {"response": message}, f"Failed to invoke HTTP task due to: {message}"
