"""Settings: read once from the environment (and an optional `.env`) into a frozen `Settings`.

This is the only module that looks at the process environment; everything else
receives the `Settings` instance (core/settings.py) from the composition root.
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from dotenv import dotenv_values

from core.files import create_private_once, private_dir
from core.settings import Settings, SettingsError


def _text(value: str) -> str:
    return value


def _port(value: str) -> int:
    port = int(value)
    if not 0 < port < 65536:
        raise ValueError
    return port


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError
    return number


def _database_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme == "sqlite" and (parsed.netloc or parsed.path):
        return value
    if parsed.scheme in {"postgres", "postgresql", "asyncpg"} and parsed.hostname:
        return value
    raise ValueError


def _redis_url(value: str) -> str:
    if value == "embedded":
        return value
    parsed = urlparse(value)
    if parsed.scheme in {"redis", "rediss"} and parsed.hostname:
        return value
    if parsed.scheme == "unix" and parsed.path:
        return value
    raise ValueError


def _smtp_url(value: str) -> str:
    if value == "embedded":
        return value
    parsed = urlparse(value)
    if parsed.scheme in {"smtp", "smtps", "smtp+starttls"} and parsed.hostname:
        return value
    raise ValueError


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme in {"http", "https"} and parsed.hostname:
        return value.rstrip("/")
    raise ValueError


def _shop_domain(value: str) -> str:
    domain = value.lower().removeprefix("https://").removesuffix("/")
    if not domain or "/" in domain or " " in domain or "." not in domain:
        raise ValueError
    return domain


def _api_version(value: str) -> str:
    # Shopify names API versions by quarter: 2025-01, 2025-04, 2025-07, 2025-10.
    if len(value) == 7 and value[:4].isdigit() and value[4] == "-" and value[5:] in {"01", "04", "07", "10"}:
        return value
    raise ValueError


def _non_negative_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError
    return number


def _id_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


# name -> (field, parser, what a valid value looks like)
_SPEC: dict[str, tuple[str, Callable[[str], Any], str]] = {
    "NURTURE_VAR_DIR": ("var_dir", Path, "a directory path"),
    "NURTURE_DATABASE_URL": (
        "database_url",
        _database_url,
        "a URL like sqlite:///path/to/nurture.sqlite3 or postgres://user@host:5432/db",
    ),
    "NURTURE_REDIS_URL": ("redis_url", _redis_url, "'embedded' or a URL like redis://host:6379/0"),
    "NURTURE_SMTP_URL": (
        "smtp_url",
        _smtp_url,
        "'embedded' or a URL like smtp://user:pass@host:587 (smtps:// for implicit TLS)",
    ),
    "NURTURE_HTTP_HOST": ("http_host", _text, "a host name or IP address"),
    "NURTURE_HTTP_PORT": ("http_port", _port, "a TCP port number between 1 and 65535"),
    "NURTURE_PUBLIC_URL": ("public_url", _http_url, "an http(s) URL like https://nurture.example.com"),
    "NURTURE_SECRET_KEY": ("secret_key", _text, "a random string of at least 32 characters"),
    "NURTURE_SHOPIFY_WEBHOOK_SECRET": ("shopify_webhook_secret", _text, "the Shopify app's client secret"),
    # The older name of NURTURE_SHOPIFY_SHOP (read first, so the new name wins when both are set).
    "NURTURE_SHOPIFY_SHOP_DOMAIN": ("shopify_shop_domain", _shop_domain, "a shop domain like acme.myshopify.com"),
    "NURTURE_SHOPIFY_SHOP": ("shopify_shop_domain", _shop_domain, "the shop's domain like acme.myshopify.com"),
    "NURTURE_SHOPIFY_ADMIN_TOKEN": (
        "shopify_admin_token", _text, "the Admin API access token of the store's custom app (shpat_...)"),
    "NURTURE_SHOPIFY_API_VERSION": ("shopify_api_version", _api_version, "a Shopify API version like 2025-10"),
    "NURTURE_SHOPIFY_ADMIN_URL": (
        "shopify_admin_url", _http_url, "an http(s) URL standing in for https://<shop> (a local double)"),
    "NURTURE_TYPEFORM_SECRET": ("typeform_secret", _text, "the Typeform webhook secret"),
    "NURTURE_SURVEY_SECRET": ("survey_secret", _text, "the shared secret of survey webhooks"),
    "NURTURE_EMAIL_WEBHOOK_SECRET": ("email_webhook_secret", _text, "user:password for email events"),
    "NURTURE_MAILGUN_SIGNING_KEY": ("mailgun_signing_key", _text, "the Mailgun HTTP webhook signing key"),
    "NURTURE_WEBHOOK_MAX_AGE": ("webhook_max_age", _positive_float, "a number of seconds greater than 0"),
    "NURTURE_TRACKING_WRITE_KEY": ("tracking_write_key", _text, "the public write key of the snippet"),
    "NURTURE_TRACKING_IDENTITY_SECRET": (
        "tracking_identity_secret", _text, "the secret the store's backend signs identify calls with"),
    "NURTURE_SLACK_BOT_TOKEN": ("slack_bot_token", _text, "a Slack bot token (xoxb-...)"),
    "NURTURE_SLACK_SIGNING_SECRET": ("slack_signing_secret", _text, "the Slack app's signing secret"),
    "NURTURE_SLACK_APP_TOKEN": ("slack_app_token", _text, "a Slack app-level token (xapp-...) for Socket Mode"),
    "NURTURE_SLACK_API_URL": ("slack_api_url", _http_url, "an http(s) URL like https://slack.com/api/"),
    "NURTURE_MAIL_FROM": ("mail_from", _text, "a sender like 'Acme <hello@acme.test>'"),
    "NURTURE_CHECKOUT_ABANDON_AFTER": (
        "checkout_abandon_after",
        _positive_float,
        "a number of seconds greater than 0",
    ),
    "NURTURE_MAX_BODY_BYTES": ("max_body_bytes", _positive_int, "a number of bytes greater than 0"),
    "NURTURE_CONFIG_FILE": ("config_file", Path, "the path of the workspace YAML file"),
    "NURTURE_TEMPLATES_DIR": ("templates_dir", Path, "the folder of the store's own email templates"),
    "NURTURE_JOB_TIMEOUT": ("job_timeout", _positive_float, "a number of seconds greater than 0"),
    "NURTURE_CRON_BUDGET": ("cron_budget", _non_negative_float, "a number of seconds, under NURTURE_JOB_TIMEOUT"),
    "NURTURE_REFRESH_CHUNK": ("refresh_chunk", _positive_int, "a number of contacts greater than 0"),
}


def _parse(name: str, raw: str) -> tuple[str, Any]:
    attr, parser, expected = _SPEC[name]
    try:
        return attr, parser(raw.strip())
    except (ValueError, TypeError):
        raise SettingsError(f"{name}={raw!r} is not valid: expected {expected}") from None


def _secret_key(var_dir: Path) -> str:
    """Generate the signing key on first run so tokens survive restarts."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    private_dir(var_dir)
    return create_private_once(path, secrets.token_urlsafe(48).encode()).decode().strip()


def load_settings(
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path | None = Path(".env"),
    overrides: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from `environ` (default: the process environment) over `.env`.

    `overrides` (same variable names) win over both: tests and tools use it to
    point a run at its own directories without touching the environment.
    """
    source: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.exists():
        source.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    source.update(os.environ if environ is None else environ)
    source.update(overrides or {})
    values: dict[str, Any] = {}
    for name in _SPEC:
        if name in source and source[name] != "":
            attr, value = _parse(name, source[name])
            values[attr] = value
    var_dir: Path = values.setdefault("var_dir", Path("var"))
    values.setdefault("database_url", f"sqlite://{(var_dir / 'nurture.sqlite3').resolve()}")
    if "public_url" not in values:
        host = values.get("http_host", "127.0.0.1")
        values["public_url"] = f"http://{host}:{values.get('http_port', 8080)}"
    if "secret_key" not in values:
        values["secret_key"] = _secret_key(var_dir)
    elif len(values["secret_key"]) < 32:
        raise SettingsError(
            "NURTURE_SECRET_KEY is too short: expected a random string of at least 32 characters"
        )
    values.setdefault("cron_budget", values.get("job_timeout", 30.0) / 3)
    if values["cron_budget"] >= values.get("job_timeout", 30.0):
        raise SettingsError("NURTURE_CRON_BUDGET must be smaller than NURTURE_JOB_TIMEOUT (default 30 s): a job that "
                            "works as long as the timeout is cancelled by the worker before it hands over")
    return Settings(**values)
