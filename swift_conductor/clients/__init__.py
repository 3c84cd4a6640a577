"""Thin clients over the shared HTTP transport: one per API area."""

from .metadata_client import MetadataClient
from .task_client import TaskClient
from .workflow_client import WorkflowClient

__all__ = ["MetadataClient", "TaskClient", "WorkflowClient"]
