"""Slack mrkdwn for data that did not come from our code (names, page titles, comments, form fields,
addresses): escaped as Slack documents, so it can never ping a channel, mention a user or render a link.

Slack reads `<...>` as a control sequence (`<!channel>`, `<@U123>`, `<https://x|label>`) and wants
`&`, `<` and `>` written as `&amp;`, `&lt;` and `&gt;` everywhere else. Every Block Kit builder and
every fallback `text` takes outside data through `escape` (or the helpers below, which use it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,20}")
_ADDRESS = re.compile(r"[^\s<>|&@]+@[^\s<>|&@]+")


def escape(text: object) -> str:
    return str(text).translate(_ENTITIES)


def escape_all(value: Any) -> Any:
    """`value` with every string in it escaped: the data a marketer's template is rendered with."""
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, Mapping):
        return {key: escape_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [escape_all(item) for item in value]
    return value


def quote(text: object) -> str:
    """A block quote that holds every line of `text` (a newline cannot end it early)."""
    lines = str(text).splitlines() or [""]
    return "\n".join(f"> {escape(line)}" for line in lines)


def mailto(address: object) -> str:
    """A mailto link when `address` is a plain address; otherwise just the escaped text."""
    value = str(address)
    return f"<mailto:{value}|{value}>" if _ADDRESS.fullmatch(value) else escape(value)


def person(name: object, address: object) -> str:
    """`Name <mailto:...>`, as a task or card names a contact."""
    link = mailto(address) if address else "anonymous visitor"
    return f"{escape(name)} {link}" if name else link


def user(user_id: object) -> str:
    """A mention of a Slack user id we stored; anything else is shown as text."""
    value = str(user_id or "")
    return f"<@{value}>" if _USER_ID.fullmatch(value) else escape(value) or "nobody"
