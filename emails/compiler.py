"""MJML -> HTML through mjml-python, with a structural check that can name the broken line.

mjml-python keeps Jinja text (`{{ ... }}`, `{% ... %}`) verbatim, so the compiled HTML is
still a Jinja template. Its own errors carry no position ("unexpected end of stream in root
template") and it silently passes unknown `<mj-*>` tags through, so before compiling we walk
the `<mj-*>` tags ourselves: that finds unclosed/mismatched/unknown elements with a line.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mjml import mjml2html

from emails.errors import TemplateError

Compiler = Callable[[str], str]

KNOWN_TAGS = frozenset({
    "mjml", "mj-head", "mj-body", "mj-attributes", "mj-all", "mj-class", "mj-breakpoint", "mj-font",
    "mj-html-attributes", "mj-html-attribute", "mj-selector", "mj-preview", "mj-style", "mj-title",
    "mj-include", "mj-section", "mj-column", "mj-group", "mj-wrapper", "mj-hero", "mj-text", "mj-image",
    "mj-button", "mj-divider", "mj-spacer", "mj-table", "mj-raw", "mj-social", "mj-social-element",
    "mj-navbar", "mj-navbar-link", "mj-accordion", "mj-accordion-element", "mj-accordion-title",
    "mj-accordion-text", "mj-carousel", "mj-carousel-image",
})
# Ending tags inside these are HTML, not MJML: only mj-* tags are tracked, HTML may be loose.
_TAG = re.compile(r"<(/?)(mjml|mj-[a-z-]+)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def mjml_compiler(source: str) -> str:
    """The production compiler; tests pass their own wrapper to count calls."""
    return mjml2html(source, disable_comments=True)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _blank_comments(source: str) -> str:
    # Keep offsets (and so line numbers) while hiding commented-out markup from the tag walk.
    return _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), source)


def check_structure(source: str, template: str = "") -> None:
    """Raise TemplateError naming the first unknown, mismatched or unclosed MJML element."""
    text = _blank_comments(source)
    stack: list[tuple[str, int]] = []
    for match in _TAG.finditer(text):
        closing, name, _attrs, self_closing = match.groups()
        name, line = name.lower(), _line_of(text, match.start())
        if name not in KNOWN_TAGS:
            raise TemplateError(f"unknown MJML element <{name}>", template=template, line=line)
        if self_closing:
            continue
        if not closing:
            stack.append((name, line))
            continue
        _close(stack, name, line, template)
    if stack:
        name, line = stack[-1]
        raise TemplateError(f"<{name}> is never closed", template=template, line=line)
    if "<mjml" not in text.lower():
        raise TemplateError("not an MJML document: no <mjml> root element", template=template, line=1)


def _close(stack: list[tuple[str, int]], name: str, line: int, template: str) -> None:
    if not stack:
        raise TemplateError(f"</{name}> closes nothing", template=template, line=line)
    opened, opened_line = stack.pop()
    if opened != name:
        message = f"</{name}> found but <{opened}> (opened on line {opened_line}) is still open"
        raise TemplateError(message, template=template, line=line)


def compile_mjml(source: str, compiler: Compiler = mjml_compiler, template: str = "") -> str:
    """Check then compile; any compiler failure becomes a TemplateError carrying its message."""
    check_structure(source, template)
    try:
        return compiler(source)
    except ValueError as exc:
        raise TemplateError(f"MJML error: {exc}", template=template) from exc
