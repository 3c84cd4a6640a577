"""docs/testing.md: each snippet that is a test file passes under pytest, as a user would run it."""

from __future__ import annotations

import re

import pytest

from swift_conductor.devserver import EmbeddedServer

from ..conftest import ROOT
from ..test_docs import is_test_file, python_blocks
from .conftest import PLUGIN_ARGS

pytest_plugins = ["pytester"]

DOC = ROOT / "docs" / "testing.md"
TEST_FILES = {re.match(r"# (test_\w+)\.py", b).group(1): b for b in python_blocks(DOC) if is_test_file(b)}  # type: ignore[union-attr]
NEEDS_THE_CLOCK = {"test_clock"}


def run_snippet(pytester: pytest.Pytester, name: str, *args: str) -> None:
    source = TEST_FILES[name]
    pytester.makepyfile(**{name: source})
    result = pytester.runpytest(*PLUGIN_ARGS, *args)
    result.assert_outcomes(passed=len(re.findall(r"^def test_", source, re.M)))


def test_the_doc_has_the_test_files_it_promises() -> None:
    assert set(TEST_FILES) >= {"test_pricing", "test_greeting", "test_failures", "test_clock"}


@pytest.mark.parametrize("name", sorted(TEST_FILES))
def test_snippet_passes_on_the_embedded_server(pytester: pytest.Pytester, name: str) -> None:
    run_snippet(pytester, name)


@pytest.mark.parametrize("name", sorted(set(TEST_FILES) - NEEDS_THE_CLOCK))
def test_snippet_passes_on_a_real_server(pytester: pytest.Pytester, name: str, real_server_url: str) -> None:
    run_snippet(pytester, name, f"--conductor-server={real_server_url}")


def test_the_clock_snippet_passes_on_a_time_controlled_server_by_url(pytester: pytest.Pytester) -> None:
    with EmbeddedServer(time_control=True) as server:  # as `swift-conductor devserver --time-control` runs it
        run_snippet(pytester, "test_clock", f"--conductor-server={server.api_url}")
        assert server.engine.clock.offset_ms == (3600 + 600) * 1000


def test_the_greeting_snippet_is_the_minimal_example_file() -> None:
    assert TEST_FILES["test_greeting"].split("\n", 1)[1] == (ROOT / "examples" / "test_minimal_workflow.py").read_text()
