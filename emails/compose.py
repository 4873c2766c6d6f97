"""Turn a rendered email into the MIME message a relay receives. Pure: no I/O, no settings.

`compose` builds headers and the multipart/alternative body (emails/drafts.py personalises a
template for one recipient, then composes). Values that end up in headers (names, subjects,
addresses) are stripped of line breaks: a CR/LF in a first name must never start a header.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import functools
import re
from dataclasses import dataclass
from email.headerregistry import Address

from core.services import OutgoingEmail
from emails import mime
from emails.render import RenderedEmail

ONE_CLICK = "List-Unsubscribe=One-Click"
# Every C0 control (CR, LF, NUL, ...) and the Unicode line separators that splitlines() honours.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


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
    name, addr = split_address(text)
    return address(name, addr)


@functools.lru_cache(maxsize=256)
def split_address(text: str) -> tuple[str, str]:
    """(display name, address) of 'Name <user@host>' as the standard library reads it; cached: the
    configured sender is parsed for every message and rarely changes."""
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
    return compose_body(body, message_id=message_id, to=to, from_addr=from_addr, reply_to=reply_to,
                        unsubscribe_url=unsubscribe_url, unsubscribe_post_url=unsubscribe_post_url,
                        unsubscribe_mailto=unsubscribe_mailto, date=date)


@dataclass(frozen=True)
class Body:
    """A message's subject line and its two parts, already quoted-printable."""

    subject: str
    text: bytes
    html: bytes


def compose_body(body: Body, *, message_id: str, to: Address | str, from_addr: Address, reply_to: Address | None,
                 unsubscribe_url: str | None, unsubscribe_post_url: str | None, unsubscribe_mailto: str | None,
                 date: dt.datetime | None = None) -> OutgoingEmail:
    """As `compose`, for a body already encoded."""
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
    return mime.alternative("".join(headers), body.text, body.html, message_id=message_id,
                            mail_from=from_addr.addr_spec, recipients=(recipient.addr_spec,))
