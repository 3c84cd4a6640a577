"""The example test files in examples/ pass as a user would run them: with pytest and the plugin."""

from __future__ import annotations

import pytest

from ..conftest import ROOT
from .conftest import PLUGIN_ARGS

pytest_plugins = ["pytester"]

EXAMPLE = ROOT / "examples" / "test_example_workflow.py"


def test_the_example_module_passes_on_the_embedded_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_example_workflow=EXAMPLE.read_text())
    result = pytester.runpytest(*PLUGIN_ARGS)
    result.assert_outcomes(passed=5)


def test_the_example_module_passes_on_a_real_server(pytester: pytest.Pytester, real_server_url: str) -> None:
    pytester.makepyfile(test_example_workflow=EXAMPLE.read_text())
    result = pytester.runpytest(*PLUGIN_ARGS, f"--conductor-server={real_server_url}")
    result.assert_outcomes(passed=4, skipped=1)  # the clock test needs the embedded server
