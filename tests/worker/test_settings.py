"""Every row of the precedence table in docs/configuration.md, and the errors for bad values."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional

import pytest

from swift_conductor import Task, TaskResult, Worker, WorkerAbc, WorkerConfigurationError
from swift_conductor.worker.settings import IniFile, WorkerSettings, find_ini, resolve_settings

TASK = "python_annotated_task_1"


def noop() -> None:
    return None


def ini(tmp_path: Path, text: str) -> IniFile:
    path = tmp_path / "worker.ini"
    path.write_text(text)
    return IniFile(path)


def resolve(
    worker: Optional[WorkerAbc] = None, ini_file: Optional[IniFile] = None, env: Optional[Dict[str, str]] = None
) -> WorkerSettings:
    return resolve_settings(worker or Worker(TASK, noop), TASK, ini_file, env or {})


FULL_INI = f"""
[DEFAULT]
domain = nice
polling_interval = 2000

[{TASK}]
domain = cool
polling_interval = 500
"""


def test_row_6_library_defaults() -> None:
    s = resolve()
    assert (s.domain, s.polling_interval, s.thread_count, s.poll_timeout, s.paused) == (None, 100.0, 1, None, False)


def test_row_5_constructor_arguments() -> None:
    s = resolve(Worker(TASK, noop, poll_interval=250, domain="ctor", thread_count=4, poll_timeout=1000))
    assert (s.domain, s.polling_interval, s.thread_count, s.poll_timeout) == ("ctor", 250.0, 4, 1000)


def test_row_5_a_class_overriding_get_polling_interval_in_seconds() -> None:
    class Sample(WorkerAbc):
        def execute(self, task: Task) -> TaskResult:
            raise NotImplementedError

        def get_polling_interval_in_seconds(self) -> float:
            return 0.5

    assert resolve(Sample(TASK)).polling_interval == 500.0


def test_row_4_ini_default_section_beats_constructor(tmp_path: Path) -> None:
    s = resolve(Worker(TASK, noop, poll_interval=250, domain="ctor"), ini(tmp_path, "[DEFAULT]\ndomain = nice\n"))
    assert (s.domain, s.polling_interval) == ("nice", 250.0)


def test_row_3_ini_task_section_beats_default_section(tmp_path: Path) -> None:
    s = resolve(Worker(TASK, noop, domain="ctor"), ini(tmp_path, FULL_INI))
    assert (s.domain, s.polling_interval) == ("cool", 500.0)
    other = resolve_settings(Worker("other_task", noop), "other_task", ini(tmp_path, FULL_INI), {})
    assert (other.domain, other.polling_interval) == ("nice", 2000.0)


@pytest.mark.parametrize("name", ["conductor_worker_domain", "CONDUCTOR_WORKER_DOMAIN"])
def test_row_2_generic_env_beats_ini(tmp_path: Path, name: str) -> None:
    s = resolve(ini_file=ini(tmp_path, FULL_INI), env={name: "hot", "conductor_worker_polling_interval": "300"})
    assert (s.domain, s.polling_interval) == ("hot", 300.0)


@pytest.mark.parametrize(
    "name",
    [
        f"conductor_worker_{TASK}_domain",
        f"CONDUCTOR_WORKER_{TASK.upper()}_DOMAIN",
        f"CONDUCTOR_WORKER_{TASK}_DOMAIN",
    ],
)
def test_row_1_task_env_beats_generic_env(tmp_path: Path, name: str) -> None:
    env = {"conductor_worker_domain": "generic", name: "specific"}
    assert resolve(ini_file=ini(tmp_path, FULL_INI), env=env).domain == "specific"


def test_the_documented_env_example() -> None:
    env = {
        "conductor_worker_polling_interval": "2000",
        "conductor_worker_domain": "nice",
        "conductor_worker_python_annotated_task_1_polling_interval": "500",
        "conductor_worker_python_annotated_task_1_domain": "cool",
        "conductor_worker_python_annotated_task_2_polling_interval": "300",
        "conductor_worker_python_annotated_task_2_domain": "hot",
    }
    one = resolve(env=env)
    two = resolve_settings(Worker("python_annotated_task_2", noop), "python_annotated_task_2", None, env)
    three = resolve_settings(Worker("python_annotated_task_3", noop), "python_annotated_task_3", None, env)
    assert (one.domain, one.polling_interval) == ("cool", 500.0)
    assert (two.domain, two.polling_interval) == ("hot", 300.0)
    assert (three.domain, three.polling_interval) == ("nice", 2000.0)


def test_more_properties_go_through_the_same_table(tmp_path: Path) -> None:
    env = {f"conductor_worker_{TASK}_thread_count": "8", "conductor_worker_paused": "true"}
    s = resolve(ini_file=ini(tmp_path, f"[{TASK}]\npoll_timeout = 2500\n"), env=env)
    assert (s.thread_count, s.paused, s.poll_timeout) == (8, True, 2500)


@pytest.mark.parametrize(
    ("text", "env", "fragment"),
    [
        (f"[{TASK}]\npolling_interval = fast\n", {}, f"worker.ini [{TASK}] polling_interval: 'fast' must be a number"),
        (
            "[DEFAULT]\nthread_count = 0\n",
            {},
            "worker.ini [DEFAULT] thread_count: '0' must be a whole number within 1..1000",
        ),
        ("", {"conductor_worker_polling_interval": "-5"}, "environment variable conductor_worker_polling_interval"),
        ("", {f"CONDUCTOR_WORKER_{TASK.upper()}_POLL_TIMEOUT": "9000"}, "must be whole milliseconds within 0..5000"),
        ("", {"conductor_worker_paused": "sometimes"}, "'sometimes' must be true or false"),
    ],
)
def test_bad_values_name_source_key_and_value(tmp_path: Path, text: str, env: Dict[str, str], fragment: str) -> None:
    with pytest.raises(WorkerConfigurationError, match=None) as err:
        resolve(ini_file=ini(tmp_path, text), env=env)
    assert fragment in str(err.value)


def test_bad_constructor_value_names_the_argument() -> None:
    with pytest.raises(WorkerConfigurationError, match=r"Worker\('python_annotated_task_1'\) argument thread_count"):
        resolve(Worker(TASK, noop, thread_count=0))


def test_ini_lookup_explicit_then_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(WorkerConfigurationError, match="does not exist"):
        find_ini(tmp_path / "nope.ini")
    monkeypatch.chdir(tmp_path)
    assert find_ini() is None or find_ini().path != tmp_path / "worker.ini"  # type: ignore[union-attr]
    (tmp_path / "worker.ini").write_text("[DEFAULT]\ndomain = here\n")
    found = find_ini()
    assert found is not None and found.get("DEFAULT", "domain") == "here"
    explicit = tmp_path / "other.ini"
    explicit.write_text("[DEFAULT]\ndomain = there\n")
    chosen = find_ini(explicit)
    assert chosen is not None and chosen.get("DEFAULT", "domain") == "there"


def test_a_broken_ini_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "worker.ini"
    path.write_text("domain = no section\n")
    with pytest.raises(WorkerConfigurationError, match=r"cannot read .*worker\.ini"):
        IniFile(path)


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("conductor_worker_polling_interval", "nan", "must be a finite number"),
        ("conductor_worker_polling_interval", "inf", "must be a finite number"),
        ("conductor_worker_polling_interval", "99999999", "must be milliseconds within 0..3600000"),
        ("conductor_worker_thread_count", "inf", "must be a finite number"),
        ("conductor_worker_thread_count", "1e12", "must be a whole number within 1..1000"),
        ("conductor_worker_thread_count", "2.5", "must be a whole number within 1..1000"),
    ],
)
def test_non_finite_and_out_of_range_values_are_refused(name: str, value: str, fragment: str) -> None:
    with pytest.raises(WorkerConfigurationError) as err:
        resolve(env={name: value})
    assert f"environment variable {name}: {value!r} {fragment}" == str(err.value)


def test_a_misspelled_ini_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WorkerConfigurationError, match=r"\[DEFAULT\] poling_interval: not a worker setting"):
        ini(tmp_path, "[DEFAULT]\npoling_interval = 5\n")


def test_a_misspelled_env_setting_is_reported() -> None:
    from swift_conductor.worker.settings import unknown_env_settings

    env = {"conductor_worker_polling_intervall": "5", "CONDUCTOR_WORKER_T1_DOMAIN": "x", "HOME": "/root"}
    assert unknown_env_settings(env) == ["conductor_worker_polling_intervall"]


# -- a worker serving several task names ----------------------------------------------------------------------
def test_per_name_settings_are_resolved_for_each_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from swift_conductor import WorkerHost

    monkeypatch.chdir(tmp_path)  # no worker.ini from the working directory
    env = {"conductor_worker_multi_b_extend_lease": "true", "conductor_worker_multi_b_domain": "blue"}
    host = WorkerHost([Worker(["multi_a", "multi_b"], noop, extend_lease=False, poll_timeout=200)], environ=env)
    a, b = host.settings["multi_a"], host.settings["multi_b"]
    assert (a.extend_lease, a.domain, a.poll_timeout) == (False, None, 200)
    assert (b.extend_lease, b.domain, b.poll_timeout) == (True, "blue", 200)


def test_thread_count_differing_between_the_names_of_one_worker_is_refused_at_host_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from swift_conductor import WorkerHost

    monkeypatch.chdir(tmp_path)
    env = {"conductor_worker_multi_b_thread_count": "4"}
    with pytest.raises(WorkerConfigurationError) as err:
        WorkerHost([Worker(["multi_a", "multi_b"], noop, thread_count=2)], environ=env)
    assert str(err.value) == (
        "<Worker multi_a,multi_b> serves several task names with different thread_count ("
        "multi_a: 2 from Worker('multi_a') argument thread_count; "
        "multi_b: 4 from environment variable conductor_worker_multi_b_thread_count); "
        "thread_count is one value per worker process, so set it the same for every name, "
        "or split the names into separate workers"
    )


def test_the_same_thread_count_from_different_sources_is_fine(tmp_path: Path) -> None:
    worker = Worker(["multi_a", "multi_b"], noop)
    env = {"conductor_worker_multi_b_thread_count": "1"}  # the library default, given explicitly for one name
    assert [resolve_settings(worker, n, None, env).thread_count for n in ("multi_a", "multi_b")] == [1, 1]
    one_ini = ini(tmp_path, "[multi_a]\nthread_count = 3\n")
    with pytest.raises(WorkerConfigurationError, match=r"multi_a: 3 from .*worker\.ini \[multi_a\] thread_count; "):
        resolve_settings(worker, "multi_b", one_ini, {})
