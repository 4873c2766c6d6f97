"""A store's own MJML files (a gallery's, a builder's) become templates: placeholders in their
style become the contact's fields, everything else stays as designed, marketing gets the
unsubscribe footer, and journeys send them like built-in ones."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contacts.models import Consent, Contact
from core.services import Services
from core.settings import Settings
from emails.importer import import_mjml
from emails.library import TEMPLATES, shared_library, use_store_templates
from journeys.manual import start_for_contact
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from tests.support import SAMPLES

GALLERY = SAMPLES / "mjml"
Outbox = Callable[[], Awaitable[list[Any]]]


@pytest.fixture
def store_templates(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "templates"
    folder.mkdir()
    for name in ("navbar-social-newsletter", "builder-welcome"):
        (folder / f"{name}.mjml.j2").write_text(import_mjml((GALLERY / f"{name}.mjml").read_text()).source)
    use_store_templates(folder)
    yield folder
    use_store_templates(None)


def html_of(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("html",)).get_content())


async def test_imported_gallery_files_go_out_through_a_journey(
        services: Services, store_templates: Path, drive: Callable[[], Awaitable[int]], outbox: Outbox) -> None:
    assert {"navbar-social-newsletter", "builder-welcome", "cart-reminder"} <= set(shared_library().names())
    await Contact.create(email="mia.fischer@example.com", first_name="Mia", consent=Consent.SUBSCRIBED)
    for name in ("navbar-social-newsletter", "builder-welcome"):  # the validator knows the store's templates
        await import_spec(load_spec(f"key: {name}\nname: {name}\ntrigger: {{manual: true}}\n"
                                    f"steps:\n  - email: {name}\n    transactional: true\n"))
        await publish(name)
        await start_for_contact(services, name, "mia.fischer@example.com")
        await drive()
    newsletter, welcome = await outbox()
    assert str(newsletter["Subject"]) == "Spring picks for Mia"
    page = html_of(newsletter)
    assert "Hello Mia," in page and "*|FNAME|*" not in page and "*|MEMBER_ID|*" in page  # unknown: kept as text
    assert ">Sale</a>" in page and ">Women</a>" in page  # the navbar made it through
    assert "instagram" in page.lower() and "/u/" in page and "Email preferences" in page  # our footer
    assert str(welcome["Subject"]).startswith("Welcome to ") and str(welcome["Subject"]).endswith(", Mia")
    page = html_of(welcome)
    assert "Welcome, Mia!" in page and "mia.fischer@example.com" in page
    assert "{{coupon_code}}" in page and "{% raw %}" in page and "{# notes #}" in page  # text, never run
    assert page.count("/u/") == 1  # its own unsubscribe link, signed: no second footer


async def test_a_store_file_overrides_a_built_in_one(store_templates: Path) -> None:
    (store_templates / "cart-reminder.mjml.j2").write_text(
        (TEMPLATES / "cart-reminder.mjml.j2").read_text().replace("{%@ block subject %}",
                                                                   "{%@ block subject %}[ours] "))
    assert shared_library().compiled("cart-reminder").subject_source.startswith("[ours] ")


def test_the_import_command_reports_what_it_mapped(settings: Settings, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(NURTURE_VAR_DIR=str(tmp_path / "var"), NURTURE_SECRET_KEY=settings.secret_key,
               NURTURE_TEMPLATES_DIR=str(tmp_path / "ours"), COLUMNS="160")

    def nurture(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "nurture", *args], env=env, capture_output=True, text=True,
                              timeout=120)

    done = nurture("emails", "import", str(GALLERY / "navbar-social-newsletter.mjml"), "--key", "spring")
    assert done.returncode == 0, done.stderr
    assert "*|FNAME|*" in done.stdout and "contact.first_name" in done.stdout
    assert "*|MEMBER_ID|*" in done.stdout and "left as text" in done.stdout and "Added the unsubscribe footer" \
        in done.stdout
    assert (tmp_path / "ours" / "spring.mjml.j2").is_file()
    assert "spring" in nurture("emails", "list").stdout
    again = nurture("emails", "import", str(GALLERY / "navbar-social-newsletter.mjml"), "--key", "spring")
    assert again.returncode == 2 and "exists" in again.stderr
    (tmp_path / "not.mjml").write_text("<html><body>hi</body></html>")
    refused = nurture("emails", "import", str(tmp_path / "not.mjml"))
    assert refused.returncode == 2 and "not an MJML document" in refused.stderr and "Traceback" not in refused.stderr
