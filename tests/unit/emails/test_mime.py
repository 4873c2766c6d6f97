"""The message bytes we write ourselves: parsed back strictly, and equal to what the standard library
would have built from the same parts."""

from __future__ import annotations

import email
import email.header
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emails
from emails import mime
from emails.compose import address, compose, one_line
from emails.drafts import Draft, Sender, personalise
from emails.render import RenderedEmail, TemplateLibrary
from emails.samples import sample_context
from tests.support import parse_strictly

SENDER = Sender(public_url="https://mail.acme.example", secret_key="k" * 40,
                mail_from="Acme Audio <hello@acme.example>", brand={"name": "Acme Audio"})
FROM = address("Acme Audio", "hello@acme.example")


def _message(subject: str = "Hi", text: str = "x", html: str = "<p>x</p>", name: str = "Ravi") -> EmailMessage:
    rendered = RenderedEmail(subject=subject, html=html, text=text)
    return parse_strictly(compose(rendered, message_id="<m@acme.example>", to=address(name, "ravi@example.com"),
                                  from_addr=FROM))


def _decoded(message: EmailMessage, kind: str) -> str:
    """A part's text as decoded from the wire, with LF line ends."""
    return message.get_body((kind,)).get_payload(decode=True).decode("utf-8").replace("\r\n", "\n")


def _header_lines(message: bytes) -> list[bytes]:
    return message.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


def test_a_japanese_subject_is_encoded_folded_and_read_back_as_written() -> None:
    subject = "カートに商品が残っています、山田様。本日中のご注文で送料無料になります！" * 2
    rendered = RenderedEmail(subject=subject, html="<p>こんにちは</p>", text="こんにちは")
    outgoing = compose(rendered, message_id="<ja@acme.example>", to="ravi@example.com", from_addr=FROM)
    assert all(len(line) <= 78 for line in _header_lines(outgoing.data))
    parsed = parse_strictly(outgoing)
    assert parsed["Subject"] == subject
    assert parsed.get_body(("plain",)).get_content().strip() == "こんにちは"


def test_a_long_ascii_subject_folds_at_spaces_and_unfolds_to_itself() -> None:
    subject = " ".join(f"word{i}" for i in range(60))
    outgoing = compose(RenderedEmail(subject=subject, html="<p>x</p>", text="x"), message_id="<s@acme.example>",
                       to="ravi@example.com", from_addr=FROM)
    subject_lines = [line for line in _header_lines(outgoing.data) if line.startswith((b"Subject:", b" "))]
    assert len(subject_lines) > 3 and all(len(line) <= 78 for line in subject_lines)
    assert parse_strictly(outgoing)["Subject"] == subject


@pytest.mark.parametrize("name", ["Rossi, Maria <boss@evil.example>", 'Say "hi" \\ there', "Çağla Işık Öztürk" * 12,
                                  "山田 太郎", "=?utf-8?q?smuggled?="])
def test_any_display_name_stays_one_address_with_its_name(name: str) -> None:
    rendered = RenderedEmail(subject="Hi", html="<p>x</p>", text="x")
    outgoing = compose(rendered, message_id="<m@acme.example>", to=address(name, "ravi@example.com"), from_addr=FROM)
    parsed = parse_strictly(outgoing)
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ravi@example.com"]
    shown = one_line(name)[: mime.MAX_DISPLAY_NAME]  # encoded words in a name are decoded first
    if shown.isascii():
        assert parsed["To"].addresses[0].display_name == shown
        return
    # Non-ASCII names as RFC 2047 reads them: the space between two encoded words is not text
    # (the standard library's address parser keeps it, for its own messages as for ours).
    head = outgoing.data.split(b"\r\n\r\n", 1)[0].decode("ascii").replace("\r\n ", " ")
    raw = next(line for line in head.split("\r\n") if line.startswith("To: "))[4:]
    assert str(email.header.make_header(email.header.decode_header(raw))) == f"{shown} <ravi@example.com>"


BODY = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)


@settings(max_examples=150, deadline=None)
@given(text=BODY, html=BODY, subject=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
                                             min_size=1, max_size=120).filter(str.strip))
def test_bodies_and_subjects_survive_the_wire_exactly(text: str, html: str, subject: str) -> None:
    clean = " ".join(subject.split())
    parsed = _message(subject=clean, text=text, html=html)
    unix = {body: body.replace("\r\n", "\n").replace("\r", "\n") for body in (text, html)}
    assert _decoded(parsed, "plain") == unix[text]
    assert _decoded(parsed, "html") == unix[html]
    assert parsed["Subject"] == clean


def test_lines_with_dots_trailing_spaces_and_equals_signs_come_back_unchanged() -> None:
    body = ".\n. leading dot\ntrailing spaces   \nx=y&z==\n" + "long " * 100 + "\n\tend\t"
    parsed = _message(text=body, html=body)
    assert _decoded(parsed, "plain") == _decoded(parsed, "html") == body


def test_a_header_value_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        mime.verbatim("List-Unsubscribe", "<https://x.example>\r\nBcc: victim@evil.example")
    with pytest.raises(ValueError, match="ASCII"):
        mime.verbatim("Message-ID", "<ü@acme.example>")


def _stdlib(outgoing_parsed: EmailMessage) -> EmailMessage:
    """The same parts built with the standard library's content manager and generator."""
    built = EmailMessage()
    for name in ("Message-ID", "Date", "From", "To", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post"):
        if name in outgoing_parsed:
            built[name] = str(outgoing_parsed[name])
    built.set_content(outgoing_parsed.get_body(("plain",)).get_content())
    built.add_alternative(outgoing_parsed.get_body(("html",)).get_content(), subtype="html")
    return email.message_from_bytes(built.as_bytes(policy=email.policy.SMTP), policy=email.policy.strict)


def test_every_library_template_reads_the_same_as_a_standard_library_message() -> None:
    library = TemplateLibrary(Path(emails.__file__).parent / "templates", auto_reload=False)
    for i, name in enumerate(library.names()):
        draft = Draft(id=i, message_id=f"<{i}@acme.example>", to="lea@example.com", template=name,
                      context=sample_context(), contact={"first_name": "Léa", "last_name": "Çelik"}, contact_id=i)
        ours = parse_strictly(personalise(library, draft, SENDER)[0])
        theirs = _stdlib(ours)
        for header in ("Message-ID", "From", "To", "Subject", "List-Unsubscribe"):
            assert str(ours.get(header)).strip() == str(theirs.get(header)).strip(), (name, header)
        assert [p.get_content_type() for p in ours.iter_parts()] == ["text/plain", "text/html"]
        for kind in ("plain", "html"):
            # set_content ends a body with a line break of its own; nothing else may differ.
            assert _decoded(ours, kind).rstrip("\n") == _decoded(theirs, kind).rstrip("\n"), (name, kind)
