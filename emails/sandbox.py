"""The sandboxed Jinja environments every email template and marketer string runs in.

Two delimiter sets, two stages:
- build stage (`{%@ ... %}`, `{{@ ... }}`, `{#@ ... #}`): layout inheritance, block macros;
  runs once per template version, before MJML, without recipient data.
- recipient stage (plain `{{ }}` / `{% %}`): personalisation; runs per recipient on the
  compiled HTML (autoescaped) and on the subject and text parts (not escaped).

Unsafe attribute access (`__class__`, `__globals__`, `mro`, ...) raises instead of quietly
rendering empty (Jinja's default), so a probing template fails loudly and is reported.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, NoReturn

from babel.support import NullTranslations
from jinja2 import ChainableUndefined, FunctionLoader, nodes
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, new_context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import pass_context
from markupsafe import Markup

from emails.errors import TemplateError
from emails.filters import FILTERS
from emails.i18n import SOURCE, font_stack, html_lang
from emails.text import html_to_text

# Names that are harmless-looking but lead out of the sandbox on some objects.
_UNSAFE_NAMES = frozenset({"mro", "func_globals", "func_code", "gi_frame", "gi_code", "cr_frame",
                           "cr_code", "f_globals", "f_locals", "f_back", "tb_frame", "ag_frame"})


_DICT_ATTRIBUTES = frozenset(dir(dict))
# Names and filters our own compiled templates use (emails/tracked.py): never a template author's.
RESERVED_PREFIX = "_nurture_"


class StrictSandbox(SandboxedEnvironment):
    """SandboxedEnvironment whose unsafe lookups raise SecurityError at once."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        # `contact.first_name` on a plain dict: Jinja tries the attribute first, and the failed
        # getattr raises and catches an AttributeError before it reads the key, ~80 times a
        # message. A key that is not also a dict attribute gives the same value read directly.
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            # A missing key (`custom.intro` of a store without one): Jinja's own answer, without its
            # AttributeError raised and caught on the way.
            return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:  # type: ignore[override]
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")


def make_env(*, autoescape: bool, build_stage: bool = False, **options: Any) -> StrictSandbox:
    delimiters: dict[str, str] = {}
    if build_stage:
        delimiters = dict(block_start_string="{%@", block_end_string="%}", variable_start_string="{{@",
                          variable_end_string="}}", comment_start_string="{#@", comment_end_string="#}")
    env = StrictSandbox(autoescape=autoescape, undefined=ChainableUndefined, trim_blocks=build_stage,
                        lstrip_blocks=build_stage, **delimiters, **options)
    env.filters.update(FILTERS)
    return env


def build_env(load: Callable[[str], str], translations: NullTranslations | None = None,
              locale: str = SOURCE) -> StrictSandbox:
    """Build-stage environment; `load` returns a template's source (and records the dependency).
    Copy marked for translation is translated here, once per language (emails/i18n.py), and the
    language's `lang` and font stack are build-stage globals of the layout."""

    # cache_size=0: the library decides freshness by content hash, Jinja must not keep stale copies.
    env = make_env(autoescape=False, build_stage=True, loader=FunctionLoader(load), cache_size=0,
                   extensions=["jinja2.ext.i18n"])
    env.policies["ext.i18n.trimmed"] = True  # a paragraph's line breaks are not part of its message
    env.install_gettext_translations(translations or NullTranslations(), newstyle=False)  # type: ignore[attr-defined]
    env.globals.update(lang=html_lang(locale), font_family=font_stack(locale), locale=locale)
    return env


HTML_ENV = make_env(autoescape=True)
TEXT_ENV = make_env(autoescape=False)


def _walk_unsafe(tree: nodes.Node) -> Iterator[str]:
    for named in tree.find_all((nodes.Name, nodes.Filter)):
        reference: str = getattr(named, "name", "")
        if reference.startswith(RESERVED_PREFIX):
            yield reference
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name: object = None
        if isinstance(node, nodes.Getattr):
            name = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = node.arg.value
        if isinstance(name, str) and (name.startswith("_") or name in _UNSAFE_NAMES):
            yield name


def parse_checked(env: StrictSandbox, source: str, template: str) -> Any:
    """Compile a recipient-stage template, refusing unsafe attribute names before any render."""
    try:
        tree = env.parse(source)
    except JinjaTemplateError as exc:
        raise TemplateError(f"template syntax: {exc}", template=template,
                            line=getattr(exc, "lineno", None)) from exc
    for name in _walk_unsafe(tree):
        raise TemplateError(f"unsafe expression: access to {name!r} is not allowed", template=template)
    return env.from_string(tree)


@lru_cache(maxsize=512)
def _string_template(autoescape: bool, source: str) -> Any:
    # Marketer strings (subject lines, custom blocks) repeat for every recipient of a send.
    return parse_checked(HTML_ENV if autoescape else TEXT_ENV, source, "<marketer text>")


def string_template(source: str, *, html: bool) -> Any:
    """A compiled (and cached) template for marketer-written text; unsafe names refused."""
    return _string_template(html, source)


def render_string(source: str, context: dict[str, Any], *, html: bool = False) -> str:
    """Render marketer-written text (a subject line, a custom block) in the sandbox."""
    template = _string_template(html, source)
    return run(template, context, "<marketer text>")


_GLOBALS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _render(template: Any, context: dict[str, Any]) -> str:
    # Template.render as Jinja writes it, less what a message pays three times over for nothing: its
    # globals (a ChainMap, walked in Python) are flattened once per template, not merged per render.
    flat = _GLOBALS.get(template)
    if flat is None:
        flat = _GLOBALS[template] = dict(template.globals)
    frame = new_context(template.environment, template.name, template.blocks, {**flat, **context}, shared=True)
    try:
        return str(template.environment.concat(template.root_render_func(frame)))
    except Exception:
        template.environment.handle_exception()  # re-raises with the template's own line numbers
        raise


def run(template: Any, context: dict[str, Any], name: str) -> str:
    """Render, turning every Jinja failure (including SecurityError) into our TemplateError."""
    try:
        return _render(template, context)
    except SecurityError as exc:
        raise TemplateError(f"unsafe expression: {exc}", template=name) from exc
    except JinjaTemplateError as exc:
        raise TemplateError(f"render failed: {exc}", template=name) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        # Data of an unexpected shape (a price as a list, say) is a template problem to report,
        # not a crash of the send job.
        raise TemplateError(f"render failed: {type(exc).__name__}: {exc}", template=name) from exc


@pass_context
def _snippet_html(ctx: Context, source: Any) -> Markup:
    if not source:
        return Markup("")
    return Markup(run(_string_template(True, str(source)), ctx.get_all(), "<marketer text>"))


@pass_context
def _snippet_text(ctx: Context, source: Any) -> str:
    if not source:
        return ""
    return html_to_text(run(_string_template(True, str(source)), ctx.get_all(), "<marketer text>")).strip()


# `{{ snippet(custom.intro) }}`: a marketer-written block rendered with the recipient's context.
HTML_ENV.globals["snippet"] = _snippet_html
TEXT_ENV.globals["snippet"] = _snippet_text
