"""A reader opens, clicks and unsubscribes through the links of an email we really sent."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from contacts.models import Consent, Contact, Event, Suppression, SuppressionReason
from core.services import Services
from core.settings import Settings
from emails.i18n import translations
from emails.library import TEMPLATES
from emails.models import Message, MessageStatus
from emails.samples import sample_context
from journeys.delivery import deliver, queue_email

Outbox = Callable[[], Awaitable[list[Any]]]


async def _sent(services: Services, outbox: Outbox, locale: str = "") -> tuple[Message, str, str]:
    """A delivered cart reminder: the message row, its HTML and its List-Unsubscribe URL."""
    contact = await Contact.create(email="ravi.kumar@example.com", first_name="Ravi", consent=Consent.SUBSCRIBED,
                                   locale=locale)
    message = await queue_email(services, send_key="enr:9:1", contact=contact, template="cart-reminder",
                                context=sample_context())
    assert (await deliver(services, message.id)).status == MessageStatus.SENT
    (mail,) = await outbox()
    return await Message.get(id=message.id), mail.get_body(("html",)).get_content(), mail["List-Unsubscribe"][1:-1]


def _path(url: str, services: Services) -> str:
    public = services.settings.public_url
    assert url.startswith(public)
    return url[len(public):]


def _urls(html: str, kind: str, services: Services) -> list[str]:
    found = re.findall(rf'"({re.escape(services.settings.public_url)}/{kind}/[^"]+)"', html)
    return [_path(url, services) for url in found]


async def test_open_pixel_records_one_open_for_two_hits(services: Services, client: TestClient, outbox: Outbox) -> None:
    message, html, _ = await _sent(services, outbox)
    (pixel,) = _urls(html, "o", services)
    for _ in range(2):
        response = await client.get(pixel)
        assert response.status == 200 and response.content_type == "image/gif"
        assert (await response.read()).startswith(b"GIF89a")
    assert (await Message.get(id=message.id)).opened_at is not None
    assert await Event.filter(type="email.opened").count() == 1
    forged = await client.get(pixel.replace("/o/", "/o/x"))
    assert forged.status == 200 and forged.content_type == "image/gif"  # still an image, nothing recorded


async def test_click_redirects_to_the_recorded_target_and_records(
    services: Services, client: TestClient, outbox: Outbox
) -> None:
    message, html, _ = await _sent(services, outbox)
    clicks = _urls(html, "c", services)
    assert len(clicks) == len(message.links)
    last = len(clicks) - 1
    response = await client.get(clicks[last], allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == message.links[last]
    clicked = await Message.get(id=message.id)
    assert clicked.clicked_at is not None and clicked.opened_at is not None
    event = await Event.get(type="email.clicked")
    assert event.properties["url"] == message.links[last]
    await client.get(clicks[last], allow_redirects=False)
    assert await Event.filter(type="email.clicked").count() == 1  # one event per message and link


async def test_tampered_click_token_is_400_and_never_redirects(
    services: Services, client: TestClient, outbox: Outbox
) -> None:
    _, html, _ = await _sent(services, outbox)
    click = _urls(html, "c", services)[0]
    payload, signature = click.removeprefix("/c/").split(".")
    for token in (f"{payload}.{signature[:-2]}AA", f"{payload}x.{signature}", "nonsense"):
        response = await client.get(f"/c/{token}", allow_redirects=False)
        assert response.status == 400
        assert "Location" not in response.headers
    pixel_token = _urls(html, "o", services)[0].removeprefix("/o/").removesuffix(".gif")
    wrong_purpose = await client.get(f"/c/{pixel_token}", allow_redirects=False)
    assert wrong_purpose.status == 400 and "Location" not in wrong_purpose.headers
    assert await Event.filter(type="email.clicked").count() == 0


async def test_unsubscribe_page_then_one_click_post(services: Services, client: TestClient, outbox: Outbox) -> None:
    _, _, unsubscribe_url = await _sent(services, outbox)
    path = _path(unsubscribe_url, services)
    page = await client.get(path)
    assert page.status == 200 and page.content_type == "text/html"
    body = await page.text()
    assert "Acme Audio" in body and "<form method='post'" in body
    assert (await Contact.get(email="ravi.kumar@example.com")).consent == Consent.SUBSCRIBED  # GET changes nothing
    done = await client.post(path, data="List-Unsubscribe=One-Click",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status == 200
    contact = await Contact.get(email="ravi.kumar@example.com")
    assert contact.consent == Consent.UNSUBSCRIBED and contact.consent_source.startswith("email")
    suppression = await Suppression.get(email="ravi.kumar@example.com")
    assert suppression.reason == SuppressionReason.UNSUBSCRIBE
    assert await Event.filter(type="consent.updated").count() == 1
    again = await client.post(path, data="List-Unsubscribe=One-Click")
    assert again.status == 200 and await Event.filter(type="consent.updated").count() == 1


async def test_tampered_unsubscribe_is_400_and_changes_nothing(
    services: Services, client: TestClient, outbox: Outbox
) -> None:
    _, _, unsubscribe_url = await _sent(services, outbox)
    path = _path(unsubscribe_url, services)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert (await client.get(tampered)).status == 400
    assert (await client.post(tampered, data="List-Unsubscribe=One-Click")).status == 400
    assert (await Contact.get(email="ravi.kumar@example.com")).consent == Consent.SUBSCRIBED
    assert await Suppression.all().count() == 0


def _cli(settings: Settings, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(NURTURE_VAR_DIR=str(tmp_path / "var"), NURTURE_SECRET_KEY=settings.secret_key,
               COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "nurture", "emails", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_lists_templates_with_subjects(settings: Settings, tmp_path: Path) -> None:
    result = _cli(settings, tmp_path, "list")
    assert result.returncode == 0, result.stderr
    assert "cart-reminder" in result.stdout and "you left something in your cart" in result.stdout
    assert "layout" not in result.stdout


def test_cli_preview_writes_html_and_text(settings: Settings, tmp_path: Path) -> None:
    result = _cli(settings, tmp_path, "preview", "welcome-1", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.split()]
    assert [p.suffix for p in paths] == [".html", ".txt"] and all(p.exists() for p in paths)
    assert "<html" in paths[0].read_text() and paths[1].read_text().startswith("Subject: ")
    unknown = _cli(settings, tmp_path, "preview", "no-such-template")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().count("\n") == 0 and "welcome-1" in unknown.stderr


async def test_the_pages_an_email_links_to_speak_its_language(
    services: Services, client: TestClient, outbox: Outbox
) -> None:
    message, html, unsubscribe_url = await _sent(services, outbox, locale="ja-JP")
    assert message.locale == "ja" and '<html lang="ja"' in html
    japanese = translations([TEMPLATES], "ja")
    page = await client.get(_path(unsubscribe_url, services))
    shown = await page.text()
    assert "<html lang='ja'>" in shown and str(japanese.gettext("Unsubscribe")) in shown
    (preferences,) = _urls(html, "p", services)
    shown = await (await client.get(preferences)).text()
    assert str(japanese.gettext("Unsubscribe from all marketing emails")) in shown
    done = await client.post(_path(unsubscribe_url, services), data="List-Unsubscribe=One-Click")
    assert str(japanese.gettext("You're unsubscribed")) in await done.text()


def test_cli_preview_in_a_language(settings: Settings, tmp_path: Path) -> None:
    result = _cli(settings, tmp_path, "preview", "quote", "--locale", "ja-JP", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    html_path, text_path = (Path(line) for line in result.stdout.split())
    assert html_path.name == "quote.ja.html" and '<html lang="ja"' in html_path.read_text()
    assert "2026年2月28日" in text_path.read_text()  # the sample quote's validity, as Japanese writes dates
    unknown = _cli(settings, tmp_path, "preview", "quote", "--locale", "fr")
    assert unknown.returncode == 2 and "no emails in 'fr'" in unknown.stderr and "ja" in unknown.stderr


async def test_unsubscribe_records_which_message_it_came_from(
    services: Services, client: TestClient, outbox: Outbox
) -> None:
    message, _, unsubscribe_url = await _sent(services, outbox)
    await client.post(_path(unsubscribe_url, services), data="List-Unsubscribe=One-Click")
    event = await Event.get(type="consent.updated")
    assert event.properties["message_id"] == message.message_id and message.message_id
    assert (await Suppression.get()).detail == f"unsubscribe link of message {message.id}"


async def test_unsubscribe_follows_the_person_after_an_address_change(
    services: Services, client: TestClient, outbox: Outbox
) -> None:
    message, _, unsubscribe_url = await _sent(services, outbox)
    await Contact.filter(id=message.contact_id).update(email="ravi.new@example.com")
    page = await (await client.get(_path(unsubscribe_url, services))).text()
    assert "ravi.new@example.com" in page and "ravi.kumar@example.com" not in page
    await client.post(_path(unsubscribe_url, services), data="List-Unsubscribe=One-Click")
    assert (await Suppression.get()).email == "ravi.new@example.com"


async def test_unsubscribe_of_an_erased_contact_still_suppresses_the_address_mailed(
    services: Services, client: TestClient, outbox: Outbox
) -> None:
    message, _, unsubscribe_url = await _sent(services, outbox)
    await Message.filter(id=message.id).update(contact_id=None)
    await Contact.all().delete()
    page = await (await client.get(_path(unsubscribe_url, services))).text()
    assert "ravi.kumar@example.com" in page
    await client.post(_path(unsubscribe_url, services), data="List-Unsubscribe=One-Click")
    assert (await Suppression.get()).email == "ravi.kumar@example.com"


async def test_unsubscribe_link_of_nobody_left_is_404(services: Services, client: TestClient, outbox: Outbox) -> None:
    _, _, unsubscribe_url = await _sent(services, outbox)
    await Message.all().delete()
    await Contact.all().delete()
    assert (await client.get(_path(unsubscribe_url, services))).status == 404
    assert (await client.post(_path(unsubscribe_url, services), data="List-Unsubscribe=One-Click")).status == 404
    assert await Suppression.all().count() == 0
