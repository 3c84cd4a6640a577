"""Errors the engine raises; the HTTP layer turns them into the real server's JSON error bodies."""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class ApiError(Exception):
    """An error with an HTTP status, rendered as ``{status, message, instance, retryable}``."""

    def __init__(
        self,
        status: int,
        message: str,
        validation_errors: Optional[List[Dict[str, Any]]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.validation_errors = validation_errors

    def body(self, instance: str) -> Dict[str, Any]:
        """The JSON body; 400s carry ``validationErrors`` and, like the real server, no ``instance``."""
        if self.validation_errors is not None:
            return {
                "status": self.status,
                "message": self.message,
                "retryable": False,
                "validationErrors": self.validation_errors,
            }
        return {"status": self.status, "message": self.message, "instance": instance, "retryable": False}


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def server_error(message: str) -> ApiError:
    """The real server answers malformed input (bad JSON, wrong types, null enums) with 500."""
    return ApiError(500, message)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def validation(errors: List[Dict[str, Any]]) -> ApiError:
    return ApiError(400, "Validation failed, check below errors for detail.", errors)


def violation(path: str, message: str, invalid_value: Any = None) -> Dict[str, Any]:
    """One entry of ``validationErrors``; the real server adds ``invalidValue`` as a string when it has one."""
    entry: Dict[str, Any] = {"path": path, "message": message}
    if invalid_value is not None:
        entry["invalidValue"] = str(invalid_value)
    return entry
