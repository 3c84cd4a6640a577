from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from ..http.api_client import segment
from ..http.models import StartWorkflowRequest, Workflow
from .base import Client


class WorkflowClient(Client):
    """Start, inspect and stop workflow executions."""

    def start_workflow(
        self,
        name: str,
        input: Optional[Mapping[str, Any]] = None,
        *,
        version: Optional[int] = None,
        correlation_id: Optional[str] = None,
    ) -> str:
        """Start the latest (or given) version of ``name``; returns the workflow id."""
        params: Dict[str, Any] = {}
        if version is not None:
            params["version"] = version
        if correlation_id is not None:
            params["correlationId"] = correlation_id
        return str(
            self.api.request(
                "POST", f"workflow/{segment(name)}", params=params, json_body=dict(input or {}), idempotent=False
            )
        )

    def start(self, request: StartWorkflowRequest) -> str:
        """Start from a full request (``task_to_domain``, correlation id, priority); returns the id."""
        return str(self.api.request("POST", "workflow", json_body=request.to_dict(), idempotent=False))

    def get_workflow(self, workflow_id: str, include_tasks: bool = True) -> Workflow:
        data = self.api.request(
            "GET", f"workflow/{segment(workflow_id)}", params={"includeTasks": "true" if include_tasks else "false"}
        )
        return Workflow.from_dict(data)

    def terminate(self, workflow_id: str, reason: Optional[str] = None) -> None:
        params = {"reason": reason} if reason else None
        self.api.request("DELETE", f"workflow/{segment(workflow_id)}", params=params)

    def remove(self, workflow_id: str) -> None:
        self.api.request("DELETE", f"workflow/{segment(workflow_id)}/remove")

    def decide(self, workflow_id: str) -> None:
        """Run the server's decider now (it otherwise notices timeouts on its own schedule)."""
        self.api.request("PUT", f"workflow/decide/{segment(workflow_id)}")
