"""Fixtures for the conformance suite: every test runs against the embedded and the real server.

``server_url`` (from tests/conftest.py) runs each test on the embedded server, Netflix 3.15.0 and OSS 3.32.3.
Tests use our clients,
and raw HTTP (``Harness.raw``) only where status codes, bodies or malformed requests are the point.
"""

from __future__ import annotations

import pytest
from conformance_harness import Harness, Raw

from swift_conductor.clients import MetadataClient, TaskClient, WorkflowClient
from swift_conductor.configuration import Configuration


@pytest.fixture
def conductor(server_url: str, uid: str) -> Harness:
    config = Configuration(server_api_url=server_url, read_timeout=15.0)
    return Harness(
        url=server_url,
        prefix=f"cf_{uid}",
        tasks=TaskClient(config),
        workflows=WorkflowClient(config),
        metadata=MetadataClient(config),
        raw=Raw(server_url),
    )


@pytest.fixture
def is_embedded(server_kind: str) -> bool:
    """True on the embedded server (for the few assertions on deliberate differences)."""
    return server_kind == "embedded"
