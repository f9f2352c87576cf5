"""Settings: the seed's variable names, the secret key, and refusing unsafe defaults."""

from __future__ import annotations

import stat

import pytest

from outreach.config import Environment, load_settings, secret_key_weakness
from outreach.errors import ValidationFailed


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "OUTREACH_SECRET_KEY", "OUTREACH_ENV", "OUTREACH_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_without_a_key_one_is_generated_into_the_data_folder_once(tmp_path):
    first = load_settings()
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.read_text().strip() == first.secret_key_value()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_settings().secret_key_value() == first.secret_key_value()
    assert secret_key_weakness(first.secret_key_value()) is None


def test_the_default_database_is_a_sqlite_file_in_the_data_folder(tmp_path):
    assert load_settings().database_url == f"sqlite:///{tmp_path / 'data' / 'outreach.db'}"


@pytest.mark.parametrize("weak", ["short", "a" * 40, "changeme-changeme-changeme-changeme-123"])
def test_a_weak_key_is_refused_in_production_and_tolerated_in_development(monkeypatch, weak):
    monkeypatch.setenv("OUTREACH_SECRET_KEY", weak)
    assert load_settings().secret_key_value() == weak
    monkeypatch.setenv("OUTREACH_ENV", "production")
    with pytest.raises(ValidationFailed, match="OUTREACH_SECRET_KEY is too weak for production"):
        load_settings()


def test_the_original_systems_env_file_is_read_with_its_names(tmp_path):
    (tmp_path / ".env").write_text(
        "VITE_SUPABASE_URL=https://abc.supabase.co\n"
        "VITE_SUPABASE_PUBLISHABLE_KEY=anon\n"
        "ANTHROPIC_API_KEY=sk-ant-test\n"
        "OUTLOOK_CLIENT_ID=client\n"
        "OUTLOOK_CLIENT_SECRET=shh\n"
        "OUTLOOK_TENANT_ID=tenant\n"
        "DATABASE_URL=postgresql://postgres@db/outreach\n"
    )
    settings = load_settings()
    assert settings.anthropic_api_key is not None
    assert settings.anthropic_api_key.get_secret_value() == "sk-ant-test"
    assert (settings.outlook_client_id, settings.outlook_tenant_id) == ("client", "tenant")
    assert settings.database_url == "postgresql://postgres@db/outreach"
    assert settings.environment is Environment.development


def test_an_unknown_environment_name_is_an_error(monkeypatch):
    monkeypatch.setenv("OUTREACH_ENV", "staging")
    with pytest.raises(
        ValidationFailed,
        match="Invalid settings: OUTREACH_ENV: Input should be 'development' or 'production'",
    ):
        load_settings()
