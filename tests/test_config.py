from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings, load_settings
from assistant.errors import SettingsError


def test_defaults_need_no_configuration():
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.emergency_number == "112" and settings.host == "127.0.0.1"


def test_environment_overrides_defaults_and_flags_override_environment():
    environ = {"BACLOFEN_QA_TOP_K": "5", "BACLOFEN_QA_EMERGENCY_NUMBER": "000", "BACLOFEN_QA_INDEX_DIR": "/tmp/x"}
    settings = load_settings({"top_k": 2, "model": None}, environ=environ)
    assert settings.top_k == 2
    assert settings.emergency_number == "000"
    assert settings.index_dir == Path("/tmp/x")


def test_toml_file_sits_between_defaults_and_environment(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("top_k = 4\nmin_score = 0.4\nport = 9000\n")
    settings = load_settings(environ={"BACLOFEN_QA_PORT": "9100"}, config_file=config)
    assert (settings.top_k, settings.min_score, settings.port) == (4, 0.4, 9100)


def test_a_bad_value_names_the_setting():
    with pytest.raises(SettingsError, match="top_k"):
        load_settings(environ={"BACLOFEN_QA_TOP_K": "many"})


def test_an_unknown_environment_variable_is_an_error_not_silently_ignored():
    with pytest.raises(SettingsError, match="BACLOFEN_QA_TOPK"):
        load_settings(environ={"BACLOFEN_QA_TOPK": "3"})


def test_an_unknown_key_in_the_toml_file_is_named(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("chunk_size = 3\n")
    with pytest.raises(SettingsError, match="chunk_size"):
        load_settings(environ={}, config_file=config)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"chunk_max_chars": 10}, "chunk_max_chars"),
        ({"index_type": "annoy"}, "index_type"),
        ({"top_k": 0}, "top_k"),
        ({"retrieval": "magic"}, "retrieval"),
        ({"auth_user": "ann"}, "auth_user and auth_password"),
        ({"emergency_number": " "}, "emergency_number"),
    ],
)
def test_invalid_settings_are_rejected_with_the_reason(changes, message):
    with pytest.raises(SettingsError, match=message):
        Settings(**changes)


def test_the_password_is_not_shown_in_reports():
    assert Settings(auth_user="a", auth_password="secret").public_dict()["auth_password"] == "***"
