"""Turn a rendered email into the MIME message a relay receives. Pure: no I/O, no settings.

`compose` builds headers and the multipart/alternative body; `personalise` renders a
template for one recipient, rewrites links to signed click URLs, adds the open pixel and
the unsubscribe URLs, then composes. Values that end up in headers (names, subjects,
addresses) are stripped of line breaks: a CR/LF in a first name must never start a header.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from typing import Any

from core.services import OutgoingEmail
from emails import mime
from emails.links import open_pixel, rewrite_links
from emails.render import CompiledTemplate, RenderedEmail, TemplateLibrary
from emails.tokens import click_signer, sign

ONE_CLICK = "List-Unsubscribe=One-Click"
# Every C0 control (CR, LF, NUL, ...) and the Unicode line separators that splitlines() honours.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
# Tracked URLs in the text part, up to whitespace or the ")" that html_to_text puts after them.
_TEXT_URL = re.compile(r"https?://[^\s)<>\"]+")


# An RFC 2047 encoded word: the header registry decodes these, so one can smuggle CR/LF back in.
_ENCODED_WORD = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?\s]*\?=")


def one_line(value: str) -> str:
    """The value with every line break / control character collapsed to one space.

    Encoded words (`=?utf-8?q?a=0D=0ABcc:...?=`) are decoded first, as the header registry
    would when the message is built, so the line breaks they hide are collapsed too; any that
    survive a few rounds are defused (a word joiner after the `=`).
    """
    text = _BREAKS.sub(" ", value).strip()
    for _ in range(4):
        if not _ENCODED_WORD.search(text):
            return text
        decoded = _BREAKS.sub(" ", str(email.policy.default.header_factory("subject", text))).strip()
        if decoded == text:
            break
        text = decoded
    return _ENCODED_WORD.sub(lambda m: "=\u2060" + m.group(0)[1:], text)


def address(name: str, addr: str) -> Address:
    """An Address safe for headers; raises ValueError when `addr` is not an address."""
    spec = one_line(addr)
    if not spec or " " in spec or spec.count("@") != 1:
        raise ValueError(f"not an email address: {addr!r}")
    username, domain = spec.split("@")
    return Address(display_name=one_line(name), username=username, domain=domain)


def parse_address(text: str) -> Address:
    """'Name <user@host>' or a bare address, as an Address (ValueError when unusable)."""
    name, addr = _parseaddr(text)
    return address(name, addr)


@functools.lru_cache(maxsize=256)
def _parseaddr(text: str) -> tuple[str, str]:
    # The configured sender is parsed for every message; it rarely changes.
    return email.utils.parseaddr(one_line(text))


def _list_unsubscribe(url: str, mailto: str | None) -> str:
    items = [f"<{one_line(url)}>"]
    if mailto:
        items.append(f"<mailto:{one_line(mailto)}>")
    return ", ".join(items)


def _address_line(name: str, value: Address) -> str:
    # Written by us, not by a generic folder: one that folds a long display name holding commas or
    # `<...>` without quoting it makes the header hold several addresses (a mail client, and a
    # relay picking recipients, would read `Rossi, Maria <boss@evil.example>, ...` as such).
    return mime.address_header(name, one_line(value.display_name), value.addr_spec)


def compose(
    rendered: RenderedEmail,
    *,
    message_id: str,
    to: Address | str,
    from_addr: Address,
    reply_to: Address | None = None,
    unsubscribe_url: str | None = None,
    unsubscribe_post_url: str | None = None,
    unsubscribe_mailto: str | None = None,
    date: dt.datetime | None = None,
) -> OutgoingEmail:
    """multipart/alternative (text, then html) with the headers a bulk sender needs, as bytes.

    `unsubscribe_url` (or the one-click `unsubscribe_post_url`, which wins) goes into
    List-Unsubscribe; with `unsubscribe_post_url` the message also carries RFC 8058's
    List-Unsubscribe-Post. Transactional mail passes neither.
    """
    body = Body(rendered.subject, mime.quoted_printable(rendered.text), mime.quoted_printable(rendered.html))
    return _message(body, message_id=message_id, to=to, from_addr=from_addr, reply_to=reply_to,
                    unsubscribe_url=unsubscribe_url, unsubscribe_post_url=unsubscribe_post_url,
                    unsubscribe_mailto=unsubscribe_mailto, date=date)


@dataclass(frozen=True)
class Body:
    """A message's subject line and its two parts, already quoted-printable."""

    subject: str
    text: bytes
    html: bytes


def _message(body: Body, *, message_id: str, to: Address | str, from_addr: Address, reply_to: Address | None,
             unsubscribe_url: str | None, unsubscribe_post_url: str | None, unsubscribe_mailto: str | None,
             date: dt.datetime | None = None) -> OutgoingEmail:
    recipient = to if isinstance(to, Address) else parse_address(to)
    message_id = one_line(message_id)
    headers = [
        mime.verbatim("Message-ID", message_id),
        mime.verbatim("Date", email.utils.format_datetime(date or dt.datetime.now(dt.UTC))),
        _address_line("From", from_addr),
        _address_line("To", recipient),
    ]
    if reply_to is not None:
        headers.append(_address_line("Reply-To", reply_to))
    headers.append(mime.unstructured("Subject", one_line(body.subject)))
    header_url = unsubscribe_post_url or unsubscribe_url
    if header_url:
        headers.append(mime.verbatim("List-Unsubscribe", _list_unsubscribe(header_url, unsubscribe_mailto)))
    if unsubscribe_post_url:
        headers.append(mime.verbatim("List-Unsubscribe-Post", ONE_CLICK))
    return mime.encoded_alternative("".join(headers), body.text, body.html, message_id=message_id,
                                    mail_from=from_addr.addr_spec, recipients=(recipient.addr_spec,))


@dataclass(frozen=True)
class Sender:
    """Where tracking URLs point, how they are signed, and who the mail is from."""

    public_url: str
    secret_key: str
    mail_from: str  # "Brand <hello@brand.example>"
    brand: Mapping[str, str] = field(default_factory=dict)
    unsubscribe_mailto: str | None = None


@dataclass(frozen=True)
class Draft:
    """What one Message row says about one send (kept free of the ORM so this stays pure)."""

    id: int
    message_id: str
    to: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    contact: Mapping[str, Any] = field(default_factory=dict)
    contact_id: int | None = None
    subject: str = ""
    marketing: bool = True
    from_name: str = ""
    reply_to: str = ""
    locale: str = "en"  # the language it is written in (a language the library has)


@dataclass(frozen=True)
class Tracking:
    """The signed URLs of one message."""

    open_url: str
    unsubscribe_url: str
    click_base: str  # f"{public_url}/c/"
    preferences_url: str = ""


def tracking_urls(draft: Draft, sender: Sender) -> Tracking:
    base = sender.public_url.rstrip("/")
    unsub = sign(sender.secret_key, "unsub", {"c": draft.contact_id, "m": draft.id})
    return Tracking(
        open_url=f"{base}/o/{sign(sender.secret_key, 'open', {'m': draft.id})}.gif",
        unsubscribe_url=f"{base}/u/{unsub}",
        click_base=f"{base}/c/",
        preferences_url=f"{base}/p/{sign(sender.secret_key, 'prefs', {'c': draft.contact_id, 'm': draft.id})}",
    )


def click_urls(sender: Sender, tracking: Tracking, message: int) -> Callable[[int, str], str]:
    """The click URL of link `index` of `message` (its target is found again from the index)."""
    token = click_signer(sender.secret_key, message)
    return lambda index, _target: tracking.click_base + token(index)


# Brand pages templates link to as top-level names (`review_url`...): see core/workspace.py.
PAGE_LINKS = ("review_url", "feedback_url", "call_url", "quote_url")


def page_links(brand: Mapping[str, str]) -> dict[str, str]:
    """The brand's review/feedback/call/quote pages, as the render context names them."""
    return {key: brand[key] for key in PAGE_LINKS if brand.get(key)}


def _context(draft: Draft, sender: Sender, tracking: Tracking) -> dict[str, Any]:
    sender_name = _parseaddr(sender.mail_from)[0]
    brand = {"name": sender_name, **sender.brand, **draft.context.get("brand", {})}
    contact = {**draft.context.get("contact", {}), **draft.contact}  # live contact fields win
    contact.setdefault("email", draft.to)
    # Our unsubscribe URLs win over anything in the stored context: they must be signed.
    return {**page_links(brand), **draft.context, "brand": brand, "contact": contact,
            "unsubscribe_url": tracking.unsubscribe_url,
            "preferences_url": tracking.preferences_url or tracking.unsubscribe_url}


def _track(rendered: RenderedEmail, draft: Draft, sender: Sender,
           tracking: Tracking) -> tuple[RenderedEmail, list[str]]:
    urls: list[str] = []
    click_url = click_urls(sender, tracking, draft.id)

    def make(index: int, target: str) -> str:
        urls.append(click_url(index, target))
        return urls[-1]

    html, targets = rewrite_links(rendered.html, make)
    html = open_pixel(html, tracking.open_url)
    text = _text_links(rendered.text, targets, urls)
    return RenderedEmail(subject=rendered.subject, html=html, text=text, known_links=targets), targets


def _text_links(text: str, targets: list[str], urls: list[str]) -> str:
    """The text part shows the same targets: each points at the click URL of its first occurrence."""
    first = {target: urls[i] for i, target in reversed(list(enumerate(targets)))}

    def swap(match: re.Match[str]) -> str:
        return first.get(match.group(0), match.group(0))

    return _TEXT_URL.sub(swap, text) if first else text


def _generic_body(compiled: CompiledTemplate, context: dict[str, Any], subject: str | None, draft: Draft,
                  sender: Sender, tracking: Tracking) -> tuple[Body, list[str]]:
    """Render, then find and rewrite the links and encode the parts."""
    tracked, targets = _track(compiled.render(context, subject), draft, sender, tracking)
    return Body(tracked.subject, mime.quoted_printable(tracked.text), mime.quoted_printable(tracked.html)), targets


def _body(compiled: CompiledTemplate, context: dict[str, Any], subject: str | None, draft: Draft,
          sender: Sender, tracking: Tracking, generic: bool) -> tuple[Body, list[str]]:
    template = None if generic else compiled.tracked
    if template is None:
        return _generic_body(compiled, context, subject, draft, sender, tracking)
    context = compiled.context(context)
    tracker = template.tracker(click_urls(sender, tracking, draft.id), tracking.open_url)
    html = template.render(context, tracker)
    text = _text_links(compiled.render_text(context), tracker.targets, tracker.urls)
    return Body(compiled.render_subject(context, subject), mime.quoted_printable(text), html), tracker.targets


def _full_name(contact: Mapping[str, Any]) -> str:
    parts = (contact.get("first_name"), contact.get("last_name"))
    return " ".join(str(part) for part in parts if part)


def sender_address(draft: Draft, sender: Sender) -> Address:
    """The configured sending address, under the message's own name when it has one (a rep)."""
    default = parse_address(sender.mail_from)
    name = draft.from_name or default.display_name
    return address(name, default.addr_spec)


def personalise(library: TemplateLibrary, draft: Draft, sender: Sender, *,
                generic: bool = False) -> tuple[OutgoingEmail, list[str]]:
    """Render, track and compose one recipient's message; returns it and the link targets
    (index i of the list is what the click token {m, i} redirects to). `generic` takes the path
    every template can take, not the template compiled with its tracking (emails/tracked.py):
    what reaches the reader is the same, which tests hold the compiled path to."""
    tracking = tracking_urls(draft, sender)
    compiled = library.compiled(draft.template, draft.locale)
    body, targets = _body(compiled, _context(draft, sender, tracking), library.subject_in(draft.subject, draft.locale),
                          draft, sender, tracking, generic)
    marketing_url = tracking.unsubscribe_url if draft.marketing else None
    message = _message(
        body,
        message_id=draft.message_id,
        to=address(_full_name(draft.contact), draft.to),
        from_addr=sender_address(draft, sender),
        reply_to=parse_address(draft.reply_to) if draft.reply_to else None,
        unsubscribe_url=marketing_url,
        unsubscribe_post_url=marketing_url,
        unsubscribe_mailto=sender.unsubscribe_mailto if draft.marketing else None,
    )
    return message, targets
