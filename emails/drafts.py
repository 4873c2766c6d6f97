"""One recipient's message from a template and a Draft. Pure: no I/O, no settings.

`personalise` renders the template for the recipient, points its links at signed click URLs,
adds the open pixel and the unsubscribe URLs, then composes (emails/compose.py). A template
compiled with its tracking (emails/tracked.py) writes its HTML part's body directly; any other
takes the generic path: render, rewrite the links, add the pixel, encode.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.headerregistry import Address
from typing import Any

from core.services import OutgoingEmail
from emails import mime
from emails.compose import Body, address, compose_body, parse_address, split_address
from emails.links import open_pixel
from emails.render import CompiledTemplate, TemplateLibrary
from emails.tokens import click_signer, sign
from emails.tracked import LinkTracker

# Tracked URLs in the text part, up to whitespace or the ")" that html_to_text puts after them.
_TEXT_URL = re.compile(r"https?://[^\s)<>\"]+")


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
    sender_name = split_address(sender.mail_from)[0]
    brand = {"name": sender_name, **sender.brand, **draft.context.get("brand", {})}
    contact = {**draft.context.get("contact", {}), **draft.contact}  # live contact fields win
    contact.setdefault("email", draft.to)
    # Our unsubscribe URLs win over anything in the stored context: they must be signed.
    return {**page_links(brand), **draft.context, "brand": brand, "contact": contact,
            "unsubscribe_url": tracking.unsubscribe_url,
            "preferences_url": tracking.preferences_url or tracking.unsubscribe_url}


def _text_links(text: str, tracker: LinkTracker) -> str:
    """The text part shows the same targets: each points at the click URL of its first occurrence."""
    first = {target: tracker.urls[i] for i, target in reversed(list(enumerate(tracker.targets)))}

    def swap(match: re.Match[str]) -> str:
        return first.get(match.group(0), match.group(0))

    return _TEXT_URL.sub(swap, text) if first else text


def _generic_body(compiled: CompiledTemplate, context: dict[str, Any], subject: str | None, draft: Draft,
                  sender: Sender, tracking: Tracking) -> tuple[Body, list[str]]:
    """Render, then rewrite the links, add the pixel and encode the parts."""
    rendered = compiled.render(context, subject)
    tracker = LinkTracker((), click_urls(sender, tracking, draft.id), tracking.open_url)
    html = open_pixel(tracker.rewrite(rendered.html), tracking.open_url)
    text = _text_links(rendered.text, tracker)
    return Body(rendered.subject, mime.quoted_printable(text), mime.quoted_printable(html)), tracker.targets


def _body(compiled: CompiledTemplate, context: dict[str, Any], subject: str | None, draft: Draft,
          sender: Sender, tracking: Tracking, generic: bool) -> tuple[Body, list[str]]:
    template = None if generic else compiled.tracked
    if template is None:
        return _generic_body(compiled, context, subject, draft, sender, tracking)
    context = compiled.context(context)
    tracker = template.tracker(click_urls(sender, tracking, draft.id), tracking.open_url)
    html = template.render(context, tracker)
    text = _text_links(compiled.render_text(context), tracker)
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
    message = compose_body(
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
