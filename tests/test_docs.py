"""Snippets in README.md and docs/ run as written; the README and CI run the same test command."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Iterator, List

import pytest

from swift_conductor.worker import registry

from .conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(path: Path) -> List[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def is_test_file(block: str) -> bool:
    """A snippet that is a whole pytest file (``# test_*.py`` first): tests/testing/test_docs_testing.py runs
    it with pytest, as a user would; here it is only compiled."""
    return re.match(r"# test_\w+\.py\n", block) is not None


@pytest.fixture
def namespace() -> Iterator[dict]:
    """A real module to run snippets in (dataclasses need one); the registry is restored afterwards."""
    saved = registry.registered_workers()
    module = types.ModuleType("docs_snippet")  # not __main__: host blocks are defined, not started
    sys.modules[module.__name__] = module
    try:
        yield module.__dict__
    finally:
        del sys.modules[module.__name__]
        registry.clear()
        for worker in saved:
            registry.register(worker)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_python_snippets_compile_and_the_self_contained_ones_run(path: Path, namespace: dict) -> None:
    for block in python_blocks(path):
        code = compile(block, str(path), "exec")
        if "..." in block or "myapp" in block:
            continue  # a fragment with placeholders: compiling it is all we can check
        if is_test_file(block):
            continue  # run as a test file elsewhere
        exec(code, namespace)


def test_the_testing_snippet_in_worker_md_passes(namespace: dict) -> None:
    blocks = python_blocks(ROOT / "docs" / "worker.md")
    exec(blocks[0], namespace)  # defines count_items
    testing = next(b for b in blocks if "execute_task(Worker(" in b)
    exec(testing, namespace)
    assert namespace["result"].output_data == {"count": 0, "warehouse": "main"}


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^(pip install -e .*scripts/test)$", readme, re.M)
    assert command, "README must start with the test command"
    assert command.group(1) in (ROOT / ".ci" / "run").read_text()
