"""No secrets at rest: credentials are dropped from stored delivery headers, and what Nurture writes
under its var directory is readable by its own user only (folders 0700, files 0600)."""

from __future__ import annotations

import json
import stat
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from contacts.models import Consent, Contact
from core.files import create_private_once
from core.services import Services
from emails.samples import sample_context
from inbox.models import InboundDelivery
from journeys.delivery import queue_email
from nurture.settings import load_settings
from tests.support import basic_auth, sample, sample_json, shopify_headers, survey_headers, typeform_headers

Drive = Callable[[], Awaitable[int]]
FORM_SECRET = "form-secret-contact-sales"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _post_every_kind(client: TestClient, services: Services) -> None:
    s = services.settings
    shopify = sample("shopify/orders-create.json")
    typeform = sample("typeform/form-response-nps.json")
    survey = sample("surveys/generic-nps.json")
    postmark = sample("email-events/postmark-bounce.json")
    track = json.dumps(sample_json("tracking/page-views.json")[0]).encode()
    requests: list[tuple[str, bytes, dict[str, str]]] = [
        ("/webhooks/shopify", shopify, shopify_headers(shopify, s.shopify_webhook_secret, "orders/create")),
        ("/webhooks/typeform", typeform, typeform_headers(typeform, s.typeform_secret)),
        ("/webhooks/surveys/generic", survey, survey_headers(survey, s.survey_secret)),
        ("/webhooks/email/postmark", postmark,
         {"Content-Type": "application/json", **basic_auth(s.email_webhook_secret)}),
        ("/webhooks/forms/contact-sales", sample("forms/contact-sales.json"),
         {"Content-Type": "application/json", "X-Nurture-Form-Secret": FORM_SECRET, "Cookie": "session=abc"}),
        (f"/track?key={s.tracking_write_key}", track, {"Content-Type": "application/json"}),
    ]
    for path, body, headers in requests:
        response = await client.post(path, data=body, headers=headers)
        assert response.status == 200, (path, await response.text())


async def test_stored_headers_keep_no_credentials(client: TestClient, services: Services, drive: Drive) -> None:
    await _post_every_kind(client, services)
    s = services.settings
    secrets = [s.shopify_webhook_secret, s.typeform_secret, s.survey_secret, s.tracking_write_key, FORM_SECRET,
               s.email_webhook_secret.split(":")[1], "session=abc"]
    deliveries = await InboundDelivery.all()
    assert {d.provider for d in deliveries} == {
        "shopify", "typeform", "survey-generic", "email-postmark", "forms", "tracking"}
    for delivery in deliveries:
        names = set(delivery.headers)
        assert not names & {"authorization", "cookie", "x-shopify-hmac-sha256", "typeform-signature",
                            "x-nurture-signature", "x-nurture-form-secret", "x-nurture-write-key"}, names
        stored = json.dumps(delivery.headers)
        assert not [secret for secret in secrets if secret in stored], delivery.provider
    assert "x-shopify-topic" in (await InboundDelivery.get(provider="shopify")).headers  # what parsing needs stays
    await drive()
    assert {d.status.value for d in await InboundDelivery.all()} <= {"processed", "ignored"}  # still parse


async def test_files_under_var_are_private(client: TestClient, services: Services, drive: Drive) -> None:
    var = services.settings.var_dir
    contact = await Contact.create(email="modes@example.com", first_name="Mo", consent=Consent.SUBSCRIBED)
    await queue_email(services, send_key="modes-1", contact=contact, template="test-email",
                      context=sample_context(), marketing=False)
    request = sample_json("shopify/customers-data-request.json")
    request["customer"] = {**request["customer"], "email": "modes@example.com"}
    body = json.dumps(request).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "customers/data_request")
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200
    await drive()
    written: list[Any] = [*(var / "outbox").glob("*.eml"), *(var / "exports").glob("*.json")]
    assert any(p.suffix == ".eml" for p in written) and any(p.suffix == ".json" for p in written)
    if not services.settings.is_postgres:
        database = Path(services.settings.database_url.removeprefix("sqlite://"))
        written += [database, *database.parent.glob(database.name + "-wal")]
        assert len(written) > 2
    for path in written:
        assert _mode(path) == 0o600, f"{path} is {oct(_mode(path))}"
    for folder in (var, var / "outbox", var / "exports"):
        assert _mode(folder) == 0o700, f"{folder} is {oct(_mode(folder))}"


def test_a_generated_secret_key_is_private_from_its_first_byte(tmp_path: Path) -> None:
    var = tmp_path / "fresh-var"
    settings = load_settings(environ={}, dotenv_path=None, overrides={"NURTURE_VAR_DIR": str(var)})
    key_file = var / "secret_key"
    assert key_file.read_text() == settings.secret_key and len(settings.secret_key) >= 32
    assert _mode(key_file) == 0o600 and _mode(var) == 0o700
    assert not [p for p in var.iterdir() if p.name.endswith(".tmp")]
    again = load_settings(environ={}, dotenv_path=None, overrides={"NURTURE_VAR_DIR": str(var)})
    assert again.secret_key == settings.secret_key


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "secret_key"
    results: list[bytes] = []
    start = threading.Barrier(8)

    def create(n: int) -> None:
        start.wait()
        results.append(create_private_once(path, f"key-{n}".encode()))

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and results[0] == path.read_bytes()
