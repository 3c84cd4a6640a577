from __future__ import annotations

import logging
import pickle

import pytest

from swift_conductor.configuration import Configuration


def test_server_api_url_is_taken_as_is() -> None:
    assert Configuration(server_api_url="http://h:1/api/").server_api_url == "http://h:1/api"


def test_base_url_gets_api_appended() -> None:
    assert Configuration(base_url="https://h:1/").server_api_url == "https://h:1/api"


def test_env_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONDUCTOR_SERVER_URL", "http://from-env:9/api")
    assert Configuration().server_api_url == "http://from-env:9/api"
    assert Configuration(server_api_url="http://given/api").server_api_url == "http://given/api"
    monkeypatch.delenv("CONDUCTOR_SERVER_URL")
    assert Configuration().server_api_url == "http://localhost:8080/api"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"server_api_url": "localhost:8080/api"}, "must start with http"),
        ({"server_api_url": "http://a/api", "base_url": "http://a"}, "not both"),
        ({"dialect": "v2"}, "dialect must be one of"),
        ({"read_timeout": 0}, "read_timeout must be a positive"),
    ],
)
def test_bad_values_name_the_setting(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Configuration(**kwargs)


def test_pickles_and_hides_secrets() -> None:
    config = Configuration(
        server_api_url="http://h/api", auth_token="s3cret", headers={"X-Api-Key": "k3y", "X-Team": "blue"}
    )
    clone = pickle.loads(pickle.dumps(config))
    assert clone.headers == {"X-Api-Key": "k3y", "X-Team": "blue", "X-Authorization": "s3cret"}
    text = repr(clone)
    assert "s3cret" not in text and "k3y" not in text
    assert "blue" in text and "X-Authorization" in text


def test_tls_verification_defaults_on_and_takes_a_ca_bundle() -> None:
    assert Configuration().verify is True
    assert Configuration(ca_bundle="/etc/ca.pem").verify == "/etc/ca.pem"
    assert Configuration(verify_ssl=False, ca_bundle="/etc/ca.pem").verify is False


def test_building_a_configuration_leaves_logging_alone_and_apply_logging_touches_only_the_library() -> None:
    lib = logging.getLogger("swift_conductor")
    root = logging.getLogger()
    saved = (lib.level, list(lib.handlers))
    root_state = (root.level, list(root.handlers))
    try:
        lib.setLevel(logging.WARNING)
        config = Configuration(debug=True)
        assert (lib.level, lib.handlers) == (logging.WARNING, saved[1])
        config.apply_logging()
        assert logging.getLogger("swift_conductor.worker").isEnabledFor(logging.DEBUG)
        assert (root.level, root.handlers) == root_state
    finally:
        lib.setLevel(saved[0])
        lib.handlers[:] = saved[1]
