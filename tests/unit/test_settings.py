from pathlib import Path

import pytest

from core.settings import SettingsError
from nurture.settings import load_settings


def load(tmp_path: Path, **env: str):
    return load_settings(environ={"NURTURE_VAR_DIR": str(tmp_path), **env}, dotenv_path=None)


def test_defaults_are_embedded(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings.database_url == f"sqlite://{(tmp_path / 'nurture.sqlite3').resolve()}"
    assert settings.redis_url == "embedded"
    assert settings.smtp_url == "embedded"
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert settings.public_url == "http://127.0.0.1:8080"
    assert not settings.is_postgres


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load(tmp_path).secret_key
    assert len(first) >= 32
    assert load(tmp_path).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load(tmp_path)
    with pytest.raises(AttributeError):
        settings.http_port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NURTURE_DATABASE_URL", "mysql://nope"),
        ("NURTURE_DATABASE_URL", "not a url"),
        ("NURTURE_REDIS_URL", "localhost:6379"),
        ("NURTURE_SMTP_URL", "http://relay"),
        ("NURTURE_HTTP_PORT", "eighty"),
        ("NURTURE_HTTP_PORT", "70000"),
        ("NURTURE_PUBLIC_URL", "nurture.example.com"),
        ("NURTURE_SLACK_API_URL", "ftp://slack"),
        ("NURTURE_CHECKOUT_ABANDON_AFTER", "-5"),
    ],
)
def test_malformed_value_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as error:
        load(tmp_path, **{name: value})
    message = str(error.value)
    assert name in message and "expected" in message and "\n" not in message


def test_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="NURTURE_SECRET_KEY"):
        load(tmp_path, NURTURE_SECRET_KEY="short")


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("NURTURE_HTTP_PORT=9000\nNURTURE_HTTP_HOST=0.0.0.0\n")
    settings = load_settings(
        environ={"NURTURE_VAR_DIR": str(tmp_path), "NURTURE_HTTP_HOST": "127.0.0.2"}, dotenv_path=dotenv
    )
    assert settings.http_port == 9000
    assert settings.http_host == "127.0.0.2"


def test_postgres_urls_are_accepted(tmp_path: Path) -> None:
    settings = load(tmp_path, NURTURE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test")
    assert settings.is_postgres


def test_mailgun_signing_key_is_its_own_setting(tmp_path: Path) -> None:
    assert load(tmp_path).mailgun_signing_key == ""  # unset: the mailgun endpoint refuses everything
    settings = load(tmp_path, NURTURE_EMAIL_WEBHOOK_SECRET="user:pass", NURTURE_MAILGUN_SIGNING_KEY="key-123")
    assert (settings.email_webhook_secret, settings.mailgun_signing_key) == ("user:pass", "key-123")
