"""Click tracking and the open pixel, on rendered HTML. Pure: the caller builds signed URLs.

A regex over `<a>`/`<area>` start tags is enough here because the HTML comes from our own
MJML compile (well-formed, quoted attributes) and it is ~30x cheaper than html.parser.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable

# Put this attribute on links that must keep their real target: unsubscribe and preferences
# links must work even if the tracking endpoint is down, and mailbox providers check them.
UNTRACKED_ATTR = "data-untracked"

ClickUrlMaker = Callable[[int, str], str]

# `[^>]*` is safe: MJML output and autoescaped values never hold a raw ">" inside a tag.
_ANCHOR = re.compile(r"<(?:a|area)\s[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""(\shref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_UNTRACKED = re.compile(rf"\s{UNTRACKED_ATTR}(?:[\s=/>])", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def trackable(target: str) -> bool:
    """Whether an href's target (unescaped, stripped) gets a click URL: http(s) only."""
    return target[:7].lower() == "http://" or target[:8].lower() == "https://"


def find_links(html: str) -> list[str]:
    """Targets that rewrite_links would track, in document order (one entry per occurrence)."""
    _, targets = rewrite_links(html, lambda _index, target: target)
    return targets


def rewrite_links(html: str, make_click_url: ClickUrlMaker) -> tuple[str, list[str]]:
    """Replace every tracked http(s) href with make_click_url(index, target).

    Returns the new HTML and the original targets; `index` is the target's position in that
    list, so a click token only needs the message id and the index. mailto:, tel:, anchors,
    relative links and links marked with `data-untracked` are left alone.
    """
    targets: list[str] = []

    def tag(match: re.Match[str]) -> str:
        text = match.group(0)
        if _UNTRACKED.search(text):
            return text
        return _HREF.sub(href, text, count=1)

    def href(match: re.Match[str]) -> str:
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        target = htmllib.unescape(raw).strip()
        if not trackable(target):
            return match.group(0)
        targets.append(target)
        url = make_click_url(len(targets) - 1, target)
        return f'{match.group(1)}"{htmllib.escape(url, quote=True)}"'

    return _ANCHOR.sub(tag, html), targets


def open_pixel(html: str, url: str) -> str:
    """Add a 1x1 tracking image just before </body> (appended if the document has none)."""
    pixel = (
        f'<img src="{htmllib.escape(url, quote=True)}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;" />'
    )
    at = html.rfind("</body>")
    if at < 0:
        matches = list(_BODY_END.finditer(html))  # unusual spelling such as </BODY >
        if not matches:
            return html + pixel
        at = matches[-1].start()
    return html[:at] + pixel + html[at:]
