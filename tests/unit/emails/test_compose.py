"""compose/personalise: headers, one-click unsubscribe, header injection, signed links."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

import emails
from core.services import OutgoingEmail
from emails.compose import address, compose
from emails.drafts import Draft, Sender, personalise
from emails.render import RenderedEmail, TemplateLibrary
from emails.samples import sample_context
from emails.tokens import verify
from tests.support import parse_strictly

KEY = "unit-test-key-0123456789-abcdefghijklmnop"
SENDER = Sender(public_url="https://mail.acme.example", secret_key=KEY,
                mail_from="Acme Audio <hello@acme.example>", brand={"name": "Acme Audio"})
LONG_URL = "https://mail.acme.example/u/" + "x" * 120


@pytest.fixture(scope="module")
def library() -> TemplateLibrary:
    return TemplateLibrary(Path(emails.__file__).parent / "templates")


def _wire(message: OutgoingEmail) -> EmailMessage:
    """What a relay receives, parsed back by the standard library's strict parser."""
    return parse_strictly(message)


def _draft(**changes: object) -> Draft:
    base: dict = dict(id=42, message_id="<abc123@acme.example>", to="ravi@example.com", template="cart-reminder",
                      context=sample_context(), contact={"first_name": "Ravi", "last_name": "Kumar"}, contact_id=7)
    return Draft(**{**base, **changes})


def test_compose_builds_multipart_alternative_with_headers() -> None:
    rendered = RenderedEmail(subject="Hello Ravi", html="<p>Hi Ravi</p>", text="Hi Ravi")
    message = _wire(compose(rendered, message_id="<m1@acme.example>", to="Ravi <ravi@example.com>",
                            from_addr=address("Acme", "hello@acme.example"),
                            reply_to=address("Sam Patel", "sam@acme.example")))
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Message-ID"] == "<m1@acme.example>"
    assert message["Date"]
    assert message["To"].addresses[0].addr_spec == "ravi@example.com"
    assert message["From"].addresses[0].display_name == "Acme"
    assert str(message["Reply-To"]) == "Sam Patel <sam@acme.example>"
    assert message.get_body(("html",)).get_content().strip() == "<p>Hi Ravi</p>"
    assert message.get_body(("plain",)).get_content().strip() == "Hi Ravi"
    assert "List-Unsubscribe" not in message  # transactional: no unsubscribe headers


def test_one_click_headers_keep_long_urls_intact() -> None:
    rendered = RenderedEmail(subject="News", html="<p>x</p>", text="x")
    message = _wire(compose(rendered, message_id="<m2@acme.example>", to="ravi@example.com",
                            from_addr=address("Acme", "hello@acme.example"), unsubscribe_url=LONG_URL,
                            unsubscribe_post_url=LONG_URL, unsubscribe_mailto="unsub@acme.example"))
    assert message["List-Unsubscribe"] == f"<{LONG_URL}>, <mailto:unsub@acme.example>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize("evil", ["Ravi\r\nBcc: victim@evil.example", "Ravi\nBcc: victim@evil.example",
                                  "Ravi\rBcc: victim@evil.example"])
def test_line_breaks_in_names_and_subject_cannot_add_headers(library: TemplateLibrary, evil: str) -> None:
    draft = _draft(contact={"first_name": evil}, from_name=evil, subject=f"Hi {evil}")
    message, _ = personalise(library, draft, SENDER)
    head = message.data.split(b"\r\n\r\n", 1)[0]  # the body may show the name as typed
    assert b"\nBcc:" not in head and b"\rBcc:" not in head
    parsed = _wire(message)
    assert "Bcc" not in parsed
    assert parsed["To"].addresses[0].addr_spec == "ravi@example.com"
    assert parsed["From"].addresses[0].addr_spec == "hello@acme.example"
    assert "\n" not in parsed["Subject"]


def test_address_rejects_injection_in_the_address_itself() -> None:
    with pytest.raises(ValueError):
        address("Ravi", "ravi@example.com\r\nBcc: victim@evil.example")


def test_personalise_rewrites_links_to_signed_click_urls(library: TemplateLibrary) -> None:
    message, targets = personalise(library, _draft(), SENDER)
    parsed = _wire(message)
    html = parsed.get_body(("html",)).get_content()
    text = parsed.get_body(("plain",)).get_content()
    assert "https://shop.example.com/cart/recover/c7f3a9" in targets
    assert 'href="https://shop.example.com' not in html
    tokens = [chunk.split('"')[0] for chunk in html.split('href="https://mail.acme.example/c/')[1:]]
    assert len(tokens) == len(targets)
    assert [verify(KEY, "click", t) for t in tokens] == [{"i": i, "m": 42} for i in range(len(targets))]
    assert "https://mail.acme.example/c/" in text and "https://shop.example.com/cart" not in text
    assert "https://mail.acme.example/o/" in html  # the open pixel
    unsubscribe = parsed["List-Unsubscribe"].strip("<>")
    assert verify(KEY, "unsub", unsubscribe.rsplit("/", 1)[1]) == {"c": 7, "m": 42}
    assert f'href="{unsubscribe}"' in html  # the footer link is the same signed URL, untracked
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_from_name_and_reply_to_for_a_rep(library: TemplateLibrary) -> None:
    draft = _draft(template="quote", from_name="Sam Patel", reply_to="Sam Patel <sam@acme.example>", marketing=False)
    parsed = _wire(personalise(library, draft, SENDER)[0])
    assert str(parsed["From"]) == "Sam Patel <hello@acme.example>"  # our domain, the rep's name
    assert str(parsed["Reply-To"]) == "Sam Patel <sam@acme.example>"
    assert "List-Unsubscribe" not in parsed


def test_subject_override_and_contact_fields(library: TemplateLibrary) -> None:
    parsed = _wire(personalise(library, _draft(subject="Still there, {{ contact.first_name }}?"), SENDER)[0])
    assert parsed["Subject"] == "Still there, Ravi?"
