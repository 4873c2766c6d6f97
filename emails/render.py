"""MJML + Jinja email rendering: compile once per template version, then Jinja per recipient.

Template files are `emails/templates/<name>.mjml.j2`. They use two stages (see sandbox.py):

    {%@ extends "layout.mjml.j2" %}
    {%@ import "blocks.mjml.j2" as blocks %}
    {%@ block subject %}{{ contact.first_name | fallback('there') }}, your cart is waiting{%@ endblock %}
    {%@ block preheader %}Text shown next to the subject in the inbox.{%@ endblock %}
    {%@ block body %}<mj-section>...{{@ blocks.button("Back to your cart", "cart.recovery_url") }}
    {%@ endblock %}

The `subject` block (required for library templates) is the subject line, rendered per
recipient without HTML escaping. Build-stage macros take recipient-stage *expressions* as
strings ("cart.recovery_url") and emit `{{ ... }}` around them. Recipient-stage loop and
if tags that sit between MJML sections or columns go inside `<mj-raw>` so the MJML stays
valid for any compiler; inside MJML attributes use single quotes in Jinja expressions.

Pipeline per template version (name + content hash of the file and everything it extends or
imports): build stage -> MJML check + compile -> recipient-stage Jinja templates for HTML
and for the text part (converted once from the compiled HTML). Per recipient: Jinja only.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import TemplateError as JinjaTemplateError
from jinja2 import TemplateNotFound

from emails import i18n
from emails.compiler import Compiler, compile_mjml, mjml_compiler
from emails.errors import TemplateError
from emails.i18n import SOURCE
from emails.links import find_links
from emails.sandbox import HTML_ENV, TEXT_ENV, StrictSandbox, build_env, parse_checked, run, string_template
from emails.text import html_to_text, normalize
from emails.tracked import TrackedTemplate, compile_tracked

__all__ = ["CompiledTemplate", "RenderedEmail", "TemplateError", "TemplateLibrary", "render"]

SUFFIX = ".mjml.j2"
LANGUAGES_TTL = 1.0  # seconds: a catalog a store adds counts for the next emails within this long
# Files that are building material, not emails of their own.
PARTIALS = frozenset({"layout", "blocks"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str

    @functools.cached_property
    def links(self) -> list[str]:
        """Original http(s) targets, in document order: found when first asked for (sending finds
        them as it rewrites them, so it does not ask)."""
        return find_links(self.html)


@dataclass(frozen=True)
class CompiledTemplate:
    """One template version, ready for per-recipient rendering."""

    name: str
    version: str
    mjml: str  # the assembled MJML, kept for previews and error reports
    subject_source: str
    subject: Any  # jinja2.Template (text env)
    html: Any  # jinja2.Template (html env, autoescape)
    text: Any | None  # jinja2.Template (text env); None: convert the rendered HTML instead

    locale: str = SOURCE  # the language its copy was translated into (emails/i18n.py)
    html_source: str = ""  # the recipient-stage HTML template's text

    def render(self, context: dict[str, Any], subject: str | None = None) -> RenderedEmail:
        context = self.context(context)
        html = run(self.html, context, self.name)
        text = self.render_text(context) if self.text is not None else html_to_text(html)
        return RenderedEmail(subject=self.render_subject(context, subject), html=html, text=text)

    def context(self, context: dict[str, Any]) -> dict[str, Any]:
        """The render context: money and dates are written the language's way."""
        return {**context, "locale": self.locale}

    def render_subject(self, context: dict[str, Any], subject: str | None = None) -> str:
        subject_template = self.subject if subject is None else string_template(subject, html=False)
        return " ".join(run(subject_template, context, self.name).split())

    def render_text(self, context: dict[str, Any]) -> str:
        """The text part, when it was converted from the HTML once (see `text`)."""
        assert self.text is not None
        return normalize(run(self.text, context, self.name))

    @functools.cached_property
    def tracked(self) -> TrackedTemplate | None:
        """The HTML part compiled to write a message's body with tracking built in (emails/tracked.py);
        None when its text part is converted per recipient or the generic path must render it."""
        return compile_tracked(self.html_source, self.name) if self.text is not None and self.html_source else None


class TemplateLibrary:
    """Loads `<name>.mjml.j2` files from `directory` (or the first of several that holds the file:
    a store's own folder before the built-in one, so its files add to and override ours by name,
    layout and blocks included); compiled versions are cached by content hash.

    `compiler` turns MJML into HTML (injectable so tests can count calls). With
    `auto_reload=False` a compiled template is reused without re-reading its files, which
    is what a worker wants once templates are deployed; previews keep the default.
    """

    def __init__(self, directory: Path | str | Sequence[Path], *, compiler: Compiler = mjml_compiler,
                 auto_reload: bool = True) -> None:
        self.directories = [Path(directory)] if isinstance(directory, Path | str) else [Path(d) for d in directory]
        self.directory = self.directories[-1]  # the built-in (last) folder
        self.compiler = compiler
        self.auto_reload = auto_reload
        # (name, language) -> last compiled version; valid while the content hash of its files matches.
        self._compiled: dict[tuple[str, str], CompiledTemplate] = {}
        self._deps: dict[tuple[str, str], tuple[str, ...]] = {}  # -> the files it was built from
        self._hashes: dict[str, tuple[tuple[int, int], str]] = {}  # file -> ((mtime_ns, size), sha256)
        self._languages: tuple[float, list[str]] | None = None  # (when looked, the languages)

    def names(self) -> list[str]:
        """Email templates (partials such as the layout and blocks excluded), sorted."""
        stems = {p.name[: -len(SUFFIX)] for d in self.directories for p in d.glob(f"*{SUFFIX}")}
        return sorted(s for s in stems if s not in PARTIALS and not s.startswith("_"))

    def _path(self, filename: str) -> Path:
        if not _NAME.match(filename) or ".." in filename:
            raise TemplateError("invalid template name", template=filename)
        found = next((d / filename for d in self.directories if (d / filename).is_file()), None)
        return found or self.directories[-1] / filename

    def source(self, filename: str) -> str:
        try:
            return self._path(filename).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise TemplateError("template not found", template=filename) from exc

    def _file_hash(self, filename: str) -> str:
        # Content hash, memoised by (mtime, size) so a render costs a stat, not a read + hash.
        try:
            stat = self._path(filename).stat()
        except FileNotFoundError as exc:
            raise TemplateError("template not found", template=filename) from exc
        stamp = (stat.st_mtime_ns, stat.st_size)
        known = self._hashes.get(filename)
        if known is None or known[0] != stamp:
            known = (stamp, hashlib.sha256(self.source(filename).encode()).hexdigest())
            self._hashes[filename] = known
        return known[1]

    def _version(self, files: tuple[str, ...], locale: str = SOURCE) -> str:
        digest = hashlib.sha256(i18n.stamp(self.directories, locale).encode())
        for filename in files:
            digest.update(f"{filename}\0{self._file_hash(filename)}\0".encode())
        return digest.hexdigest()[:16]

    def languages(self) -> list[str]:
        """English and every language a catalog here translates the templates into. Asked for every
        message sent: the folders are looked through at most once a LANGUAGES_TTL (once, without
        auto_reload), not by a glob per message."""
        now = time.monotonic()
        if self._languages is None or (self.auto_reload and now - self._languages[0] > LANGUAGES_TTL):
            self._languages = (now, sorted({i18n.SOURCE} | i18n.catalogs_in(self.directories)))
        return self._languages[1]

    def language_for(self, *wanted: str) -> str:
        """The first of `wanted` (locale tags, most preferred first) these templates are written in."""
        return i18n.choose(wanted, self.languages())

    def translate(self, text: str, locale: str) -> str:
        """`text` from the catalogs of `locale` when they have it (a journey's built-in subject line)."""
        return str(i18n.translations(self.directories, locale).gettext(text)) if text else text

    def subject_in(self, subject: str | None, locale: str) -> str | None:
        """A marketer's subject line (None: the template's own) as written for `locale`."""
        if subject and locale != SOURCE:
            return self.translate(subject, locale)
        return subject or None

    def compiled(self, name: str, locale: str = SOURCE) -> CompiledTemplate:
        """The compiled current version of `name` in `locale`; compiles (MJML included) only on a change."""
        key = (name, locale)
        cached = self._compiled.get(key)
        if cached is not None and (not self.auto_reload or cached.version == self._version(self._deps[key], locale)):
            return cached
        cached = self._compile_file(name, locale)
        self._compiled[key] = cached  # replaces the old version: the cache holds one per name and language
        return cached

    def _compile_file(self, name: str, locale: str) -> CompiledTemplate:
        loaded: list[str] = []

        def deps() -> tuple[str, ...]:
            return tuple(dict.fromkeys(loaded))  # the file itself first, then what it pulled in

        def load(filename: str) -> str:
            loaded.append(filename)
            return self.source(filename)

        env = build_env(load, i18n.translations(self.directories, locale), locale)
        try:
            build_template = env.get_template(name + SUFFIX)
        except TemplateNotFound as exc:
            raise TemplateError("template not found", template=name) from exc
        except JinjaTemplateError as exc:
            raise _build_error(exc, name) from exc
        compiled = _finish(build_template, name, self.compiler, lambda: self._version(deps(), locale), locale)
        self._deps[(name, locale)] = deps()
        return compiled

    def compile_source(self, source: str, name: str = "<string>", locale: str = SOURCE) -> CompiledTemplate:
        """Compile MJML(+Jinja) text that is not a library file, e.g. an imported template.

        It may extend the library's layout. Never cached: callers hold on to the result.
        """
        env = build_env(self.source, i18n.translations(self.directories, locale), locale)
        try:
            build_template = env.from_string(source)
        except JinjaTemplateError as exc:
            raise _build_error(exc, name) from exc
        return _finish(build_template, name, self.compiler,
                       lambda: hashlib.sha256(source.encode()).hexdigest()[:16], locale)

    def validate(self, name: str, locale: str = SOURCE) -> CompiledTemplate:
        """Compile `name` and require a subject; raises TemplateError naming the problem."""
        compiled = self.compiled(name, locale)
        if not compiled.subject_source:
            raise TemplateError("no subject: add {%@ block subject %}...{%@ endblock %}", template=name)
        return compiled

    def validate_all(self) -> dict[str, TemplateError]:
        """Every library template's problem, by name; empty when all compile cleanly."""
        problems: dict[str, TemplateError] = {}
        for name in self.names():
            try:
                self.validate(name)
            except TemplateError as exc:
                problems[name] = exc
        return problems


def _build_error(exc: JinjaTemplateError, name: str) -> TemplateError:
    return TemplateError(f"template syntax: {exc}", template=getattr(exc, "name", None) or name,
                         line=getattr(exc, "lineno", None))


def _build_block(build_template: Any, block: str, name: str) -> str:
    render_block = build_template.blocks.get(block)
    if render_block is None:
        return ""
    try:
        return "".join(render_block(build_template.new_context({}))).strip()
    except JinjaTemplateError as exc:
        raise _build_error(exc, name) from exc


def _finish(build_template: Any, name: str, compiler: Compiler,
            version: Callable[[], str], locale: str = SOURCE) -> CompiledTemplate:
    """Build stage -> MJML -> recipient-stage templates. The slow part, once per version."""
    try:
        mjml = build_template.render()
    except JinjaTemplateError as exc:
        raise _build_error(exc, name) from exc
    subject_source = _build_block(build_template, "subject", name)
    html_source = compile_mjml(mjml, compiler, name)
    return CompiledTemplate(
        name=name,
        version=version(),
        mjml=mjml,
        subject_source=subject_source,
        subject=parse_checked(TEXT_ENV, subject_source, name),
        html=parse_checked(HTML_ENV, html_source, name),
        text=_text_template(TEXT_ENV, html_source, name),
        locale=locale,
        html_source=html_source,
    )


def _text_template(env: StrictSandbox, html_source: str, name: str) -> Any | None:
    # Converting once is only safe if the Jinja tags survive conversion intact; when they do
    # not (a tag split across the head and body, say), fall back to converting per recipient.
    try:
        return parse_checked(env, html_to_text(html_source), name)
    except TemplateError:
        return None


def render(library: TemplateLibrary, name: str, context: dict[str, Any], *,
           subject: str | None = None, locale: str = SOURCE) -> RenderedEmail:
    """Render template `name` for one recipient in `locale` (a language the library has; see
    `language_for`). `subject` overrides the template's subject line with marketer-written text
    (sandboxed like everything else), translated when the catalogs know it."""
    return library.compiled(name, locale).render(context, library.subject_in(subject, locale))
