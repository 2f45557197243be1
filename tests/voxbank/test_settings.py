"""Configuration is read from VOXBANK_ variables and a bad value stops start-up with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxbank.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(f"VOXBANK_{name.upper()}", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env file


def test_defaults_put_the_database_and_broker_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/voxbank.db"
    assert settings.resolved_broker_url == f"sqla+sqlite:///{tmp_path}/broker.db"


def test_settings_come_from_prefixed_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXBANK_STT_MODEL", "large-v3")
    monkeypatch.setenv("VOXBANK_STT_DEVICE", "cuda")
    settings = load_settings()
    assert (settings.stt_model, settings.stt_device) == ("large-v3", "cuda")


def test_an_invalid_choice_names_the_variable_and_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXBANK_STT_DEVICE", "gpu")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "VOXBANK_STT_DEVICE: Input should be 'auto', 'cpu' or 'cuda' (got 'gpu')" in str(caught.value)


def test_a_url_without_a_scheme_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXBANK_DATABASE_URL", "localhost/voxbank")
    with pytest.raises(SettingsError, match="VOXBANK_DATABASE_URL: 'localhost/voxbank' is not a URL"):
        load_settings()


def test_a_negative_timeout_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXBANK_LLM_TIMEOUT_S", "-1")
    with pytest.raises(SettingsError, match="VOXBANK_LLM_TIMEOUT_S: Input should be greater than 0"):
        load_settings()


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXBANK_ENVIRONMENT", "production")
    with pytest.raises(SettingsError, match="VOXBANK_SECRET_KEY: production needs its own secret"):
        load_settings()


def test_production_starts_with_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXBANK_ENVIRONMENT", "production")
    monkeypatch.setenv("VOXBANK_SECRET_KEY", "x" * 40)
    assert load_settings().environment == "production"


def test_secrets_are_never_echoed_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXBANK_ENVIRONMENT", "production")
    monkeypatch.setenv("VOXBANK_SECRET_KEY", "short-secret")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "short-secret" not in str(caught.value)


def test_a_livekit_url_needs_its_key_and_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXBANK_LIVEKIT_URL", "wss://example.livekit.cloud")
    with pytest.raises(SettingsError, match="VOXBANK_LIVEKIT_URL: a LiveKit URL needs"):
        load_settings()


def test_the_follow_up_choice_orders_reach_the_conductor_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from voxbank.wiring import conductor_options

    monkeypatch.setenv("VOXBANK_FOLLOW_UP_CHOICE_ORDERS", "3")
    assert conductor_options(load_settings()).follow_up_choice_orders == 3


def test_a_single_follow_up_choice_order_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXBANK_FOLLOW_UP_CHOICE_ORDERS", "1")
    with pytest.raises(SettingsError, match="VOXBANK_FOLLOW_UP_CHOICE_ORDERS: .*one order cannot tell"):
        load_settings()


def test_the_embedded_model_may_add_distress_and_stop_but_not_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    from voxbank.wiring import conductor_options

    monkeypatch.delenv("VOXBANK_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("VOXBANK_LLM_SIGNALS", raising=False)
    assert conductor_options(load_settings()).llm_signals == {"distress", "stop"}
    monkeypatch.setenv("VOXBANK_LLM_BASE_URL", "https://api.openai.com/v1")
    assert conductor_options(load_settings()).llm_signals == {"distress", "stop", "refusal"}
    monkeypatch.setenv("VOXBANK_LLM_SIGNALS", "stop")
    assert conductor_options(load_settings()).llm_signals == {"stop"}


def test_an_unknown_llm_signal_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOXBANK_LLM_SIGNALS", "distress,sadness")
    with pytest.raises(SettingsError, match="'sadness'.*distress, stop, refusal"):
        load_settings()
