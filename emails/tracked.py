"""HTML templates that write a recipient's quoted-printable body directly, tracking compiled in.

The generic path renders a recipient's HTML, finds its links with a regex over some 24 kB,
signs and replaces them, adds the open pixel, then quoted-printable encodes the whole document:
each pass costs about what the Jinja render does. Most of that document is the same for every
recipient of a template version, so here that work is done once per version:

- the template's fixed text is quoted-printable encoded when it is compiled, each piece ending
  where a line begins (with a soft line break, which decodes to nothing, where it ends mid-line),
  so a recipient's values are encoded on their own and the pieces are simply joined;
- each `<a href>` / `<area href>` that may be tracked becomes a filter that rebuilds the href from
  its values as the generic path would read it, signs the click URL of the next index and writes
  it; values that are markup (a marketer's snippet) get their own links rewritten the generic way,
  so indexes still follow the document's order;
- the open pixel is part of the template.

What reaches the reader is the same as the generic path's message (tests compare every library
template in every language). A template whose recipient stage does more than write expressions
into the document (macros, `{% set %}` blocks, filter blocks, recursive loops...), or whose links
are built by Jinja tags, is not compiled: `compile_tracked` returns None and the generic path runs.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateError as JinjaTemplateError
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from markupsafe import escape

from emails.links import UNTRACKED_ATTR, open_pixel, rewrite_links, trackable
from emails.mime import quoted_printable_piece
from emails.sandbox import HTML_ENV, RESERVED_PREFIX, make_env, run

TRACKER = f"{RESERVED_PREFIX}message"  # the render context's name for the message's LinkTracker
OUT, LINK, OPEN = (f"{RESERVED_PREFIX}{name}" for name in ("out", "link", "open"))
# Statements whose output goes straight into the document; and those whose output becomes a value.
_STRAIGHT = (nodes.Output, nodes.For, nodes.If, nodes.Assign, nodes.With, nodes.Scope)
_CAPTURED = (nodes.AssignBlock, nodes.Macro)
_ANCHOR = re.compile(r"<(?:a|area)\s[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"""(\shref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_UNTRACKED = re.compile(rf"\s{UNTRACKED_ATTR}(?:[\s=/>])", re.IGNORECASE)
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_SPECIAL = re.compile(r"[&<>\"']")  # what escaping changes
_TAG_IN_MARKUP = re.compile(r"<(?:a|area)\s", re.IGNORECASE)
_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class LinkSite:
    """One href of the template: its fixed text around the values (`parts[i]` before value i)."""

    quote: str
    parts: tuple[str, ...]


class CannotCompile(Exception):
    """The template does something this compiler does not follow; the generic path will do."""


class LinkTracker:
    """One message's links, on either path: each tracked target in document order, and the click URL it got."""

    def __init__(self, sites: Sequence[LinkSite], make_click_url: Callable[[int, str], str], open_url: str) -> None:
        self.sites = sites
        self.make_click_url = make_click_url
        self.open_url = open_url
        self.targets: list[str] = []
        self.urls: list[str] = []

    def click_url(self, index: int, target: str) -> str:
        self.targets.append(target)
        self.urls.append(self.make_click_url(index, target))
        return self.urls[-1]

    def href(self, site: int, values: tuple[Any, ...]) -> str:
        """The quoted attribute value of link `site` with `values` filled in, as the generic path
        writes it: the signed click URL when the target is tracked, else the value as rendered."""
        spot = self.sites[site]
        filled = zip(values, spot.parts[1:], strict=True)
        rendered = spot.parts[0] + "".join(str(escape(value)) + part for value, part in filled)
        target = htmllib.unescape(rendered).strip()
        if not trackable(target):
            return spot.quote + rendered + spot.quote
        return '"' + htmllib.escape(self.click_url(len(self.targets), target), quote=True) + '"'

    def rewrite(self, markup: str) -> str:
        """Links inside a markup value (a marketer's snippet), rewritten as the generic path does."""
        html, _ = rewrite_links(markup, lambda index, target: self.click_url(len(self.targets), target))
        return html


def _write_value(value: Any, tracker: LinkTracker) -> str:
    """`{{ value }}` as autoescaping writes it, quoted-printable encoded as a piece of the body."""
    if type(value) is str:
        text = str(escape(value)) if _SPECIAL.search(value) else value
    elif hasattr(value, "__html__"):
        text = str(value.__html__())
        if _TAG_IN_MARKUP.search(text):
            text = tracker.rewrite(text)
    else:
        text = str(escape(value))
    return quoted_printable_piece(text)


def _write_link(values: tuple[Any, ...], tracker: LinkTracker, site: int) -> str:
    return quoted_printable_piece(tracker.href(site, values))


def _write_pixel(tracker: LinkTracker) -> str:
    return quoted_printable_piece(htmllib.escape(tracker.open_url, quote=True))


class _Writer(CodeGenerator):
    """Writes what our filters return as it is: quoted-printable text, escaped already (Jinja would
    wrap it in escape() and so in a Markup copy, for each of a message's hundred values)."""

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if _ours(node):
            self.write("(")
        else:
            super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if _ours(node):
            self.write(")")
        else:
            super()._output_child_post(node, frame, finalize)


def _ours(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Filter) and node.name in (OUT, LINK, OPEN)


ENV = make_env(autoescape=True)
ENV.globals.update(HTML_ENV.globals)  # the marketer's snippets, as in the generic HTML
ENV.filters.update({OUT: _write_value, LINK: _write_link, OPEN: _write_pixel})
ENV.code_generator_class = _Writer


@dataclass(frozen=True)
class TrackedTemplate:
    """A template version's HTML part, compiled to write quoted-printable with tracking built in."""

    name: str
    template: Any  # jinja2.Template in ENV
    sites: tuple[LinkSite, ...] = field(default_factory=tuple)

    def tracker(self, make_click_url: Callable[[int, str], str], open_url: str) -> LinkTracker:
        return LinkTracker(self.sites, make_click_url, open_url)

    def render(self, context: dict[str, Any], tracker: LinkTracker) -> bytes:
        """The HTML part's body, quoted-printable, for `context`; `tracker` collects its links."""
        body = run(self.template, {**context, TRACKER: tracker}, self.name)
        return (body[:-3] if body.endswith("=\r\n") else body).encode("ascii")


def compile_tracked(html_source: str, name: str) -> TrackedTemplate | None:
    """`html_source` (the compiled MJML, a recipient-stage Jinja template already checked by
    parse_checked) as a TrackedTemplate, or None when the generic path must render it."""
    try:
        source, sites = _compile_links(html_source)
        tree = ENV.parse(_with_pixel(source))
        _encode(tree)
        return TrackedTemplate(name=name, template=ENV.from_string(tree), sites=tuple(sites))
    except (CannotCompile, JinjaTemplateError):
        return None


def _compile_links(source: str) -> tuple[str, list[LinkSite]]:
    for jinja in _JINJA.findall(source):
        if _TAG_IN_MARKUP.search(jinja) or "</body" in jinja.lower():
            raise CannotCompile("markup inside a Jinja tag")
    sites: list[LinkSite] = []

    def tag(match: re.Match[str]) -> str:
        text = match.group(0)
        if "{%" in text or "{#" in text or text.count("{{") != text.count("}}"):
            raise CannotCompile("a link tag built by Jinja")
        if _UNTRACKED.search(text):
            return text
        return _HREF.sub(href, text, count=1)

    def href(match: re.Match[str]) -> str:
        quote = '"' if match.group(2) is not None else "'"
        raw = match.group(2) if match.group(2) is not None else match.group(3)
        pieces = _EXPRESSION.split(raw)  # fixed text, expression, fixed text, ...
        parts, expressions = tuple(pieces[0::2]), pieces[1::2]
        if any(delimiter in part for part in parts for delimiter in ("{{", "}}", "{%", "{#")):
            raise CannotCompile("an href whose Jinja its quotes cut (a quote inside an expression)")
        if any(expression.startswith("-") or expression.endswith("-") for expression in expressions):
            raise CannotCompile("whitespace control inside an href")
        if _never_tracked(parts[0]):
            return match.group(0)
        sites.append(LinkSite(quote=quote, parts=parts))
        values = "".join(f"({expression}), " for expression in expressions)
        return f"{match.group(1)}{{{{ ({values}) | {LINK}({TRACKER}, {len(sites) - 1}) }}}}"

    return _ANCHOR.sub(tag, source), sites


def _never_tracked(start: str) -> bool:
    """Whether an href beginning with this fixed text is untracked whatever follows (mailto:, tel:, #)."""
    if "&" in start:
        return False  # a character reference could be completed by a value: decided per message
    head = start.lstrip().lower()
    return bool(head) and not any(scheme.startswith(head) or head.startswith(scheme) for scheme in _SCHEMES)


def _with_pixel(source: str) -> str:
    # The generic path's pixel, its URL written per message.
    return open_pixel(source, "{{ " + TRACKER + " | " + OPEN + " }}")


def _encode(node: nodes.Node) -> None:
    """Fixed text becomes quoted-printable pieces; every other output goes through OUT."""
    for child in node.iter_child_nodes():
        if isinstance(child, _CAPTURED):
            if any(_ours(inner) for inner in child.find_all(nodes.Filter)):
                raise CannotCompile("a link inside a {% set %} block or a macro")  # it would be encoded twice
            continue  # its text becomes a value, encoded where that value is written
        if isinstance(child, nodes.Stmt) and (not isinstance(child, _STRAIGHT) or getattr(child, "recursive", False)):
            raise CannotCompile(f"a {type(child).__name__} statement")
        if isinstance(child, nodes.Output):
            _encode_output(child)
        else:
            _encode(child)


def _encode_output(output: nodes.Output) -> None:
    for index, child in enumerate(output.nodes):
        if isinstance(child, nodes.TemplateData):
            child.data = quoted_printable_piece(child.data)
        elif not _ours(child):
            output.nodes[index] = nodes.Filter(child, OUT, [nodes.Name(TRACKER, "load")], [], None, None,
                                               lineno=child.lineno)
