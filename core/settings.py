"""The shape of the settings every layer receives; `nurture.settings` fills it from the environment."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


class SettingsError(Exception):
    """A setting has a value we cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    var_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str = "embedded"
    smtp_url: str = "embedded"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    public_url: str = ""
    secret_key: str = ""
    shopify_webhook_secret: str = ""
    # The one shop this workspace serves (acme.myshopify.com); privacy requests naming another are refused.
    shopify_shop_domain: str = ""
    # The Admin API (GraphQL) token of the store's custom app: `nurture shopify connect|import`, discount codes.
    shopify_admin_token: str = ""
    # Pinned: Shopify changes fields between quarterly versions; a newer one is adopted on purpose.
    shopify_api_version: str = "2025-10"
    # Where the Admin API answers; empty means https://<shopify_shop_domain> (tests point it at a double).
    shopify_admin_url: str = ""
    typeform_secret: str = ""
    survey_secret: str = ""
    email_webhook_secret: str = ""
    # Mailgun signs its webhooks itself (HMAC), so it gets its own key, not the basic-auth pair above.
    mailgun_signing_key: str = ""
    # Deliveries whose signature carries a timestamp (Mailgun) are refused outside this window (s).
    webhook_max_age: float = 900.0
    tracking_write_key: str = ""
    # Signs identify calls: the store's backend computes HMAC-SHA256(email) with it (user_hash).
    tracking_identity_secret: str = ""
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    mail_from: str = "Nurture <hello@nurture.invalid>"
    checkout_abandon_after: float = 3600.0
    max_body_bytes: int = 1024 * 1024
    config_file: Path = Path("nurture.yml")
    # The store's own email templates (add to and override the built-in ones by name); default:
    # `templates/` beside the workspace file.
    templates_dir: Path | None = None
    # A job running longer is cancelled and retried; also how long a killed worker's jobs wait.
    job_timeout: float = 30.0
    # How long one run of a long periodic job (the nightly refresh) works before it hands over to a
    # continuation job: well inside job_timeout, so arq never cancels it half-way.
    cron_budget: float = 10.0  # load_settings: a third of job_timeout unless set
    refresh_chunk: int = 1000  # contacts per transaction of the nightly refresh

    @property
    def store_templates(self) -> Path:
        return self.templates_dir or self.config_file.parent / "templates"

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    @property
    def shopify_graphql_url(self) -> str:
        base = self.shopify_admin_url or f"https://{self.shopify_shop_domain}"
        return f"{base.rstrip('/')}/admin/api/{self.shopify_api_version}/graphql.json"

    @property
    def is_postgres(self) -> bool:
        return urlparse(self.database_url).scheme != "sqlite"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)
