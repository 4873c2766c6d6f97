"""Which language an email is written in, and the message catalogs that translate it.

Templates are written in English and marked for translation at the build stage
(`{%@ trans trimmed %}...{%@ endtrans %}`, `_("...")` in macro arguments): Jinja's i18n extension
translates them once per (template, language) when the template is compiled, so a recipient's
render stays Jinja only. Catalogs are standard gettext `.po` files, extracted with Babel
(`make messages`), one per language: `emails/templates/locale/<lang>/LC_MESSAGES/emails.po`, and a
store adds or overrides languages with the same layout in its own templates folder.

A contact's locale comes from Shopify (`customer_locale`), a form's `locale` field or its
browser's Accept-Language, or tracking traits; it is tried as given, then without its region
(`zh-TW` -> `zh`), then the journey's and the workspace's language, then English.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

SOURCE = "en"  # the language templates are written in
DOMAIN = "emails"
_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
# The language a catalog of this name serves, as the HTML lang attribute says it.
HTML_LANG = {"zh": "zh-Hans"}
FONT_STACKS = {
    "ja": "Hiragino Sans, Hiragino Kaku Gothic ProN, Yu Gothic, Meiryo, Noto Sans JP, Helvetica, Arial, sans-serif",
    "zh": "PingFang SC, Hiragino Sans GB, Microsoft YaHei, Noto Sans SC, Helvetica, Arial, sans-serif",
}
LATIN_STACK = "Helvetica Neue, Helvetica, Arial, sans-serif"


def candidates(tag: str) -> list[str]:
    """`zh-Hant-TW` -> [zh_Hant_TW, zh_Hant, zh]: the tag as given, then shorter, region last off."""
    if not tag or not _TAG.match(tag.strip()):
        return []
    parts = tag.strip().replace("-", "_").split("_")
    parts = [parts[0].lower(), *(p.title() if len(p) == 4 else p.upper() for p in parts[1:])]
    return ["_".join(parts[:n]) for n in range(len(parts), 0, -1)]


def choose(wanted: Sequence[str], available: Iterable[str]) -> str:
    """The first of `wanted` (tags, most preferred first) with a catalog, else English."""
    have = set(available) | {SOURCE}
    for tag in wanted:
        for candidate in candidates(tag):
            if candidate in have:
                return candidate
    return SOURCE


def accept_language(header: str) -> list[str]:
    """The tags of an Accept-Language header, most preferred first (q=0 left out)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        found = re.search(r"q=([0-9.]+)", params)
        if found:
            try:
                quality = float(found.group(1))
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0 and _TAG.match(tag):
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def html_lang(locale: str) -> str:
    return HTML_LANG.get(locale, locale.replace("_", "-"))


def font_stack(locale: str) -> str:
    return FONT_STACKS.get(locale.split("_")[0], LATIN_STACK)


def catalog_path(directory: Path, locale: str) -> Path:
    return directory / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalogs_in(directories: Sequence[Path]) -> set[str]:
    """The languages the folders have catalogs for."""
    return {path.parent.parent.name for d in directories for path in (d / "locale").glob(f"*/LC_MESSAGES/{DOMAIN}.po")}


def _read(path: Path, stamp: tuple[int, int]) -> Translations:
    del stamp  # part of the cache key: a changed file is read again
    with path.open("rb") as handle:
        catalog = read_po(handle, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)  # fuzzy entries are guesses: English until reviewed
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


_read_cached = functools.lru_cache(maxsize=64)(_read)


def translations(directories: Sequence[Path], locale: str) -> NullTranslations:
    """The catalogs of `locale` from every folder, the first folder's (the store's) winning."""
    if locale == SOURCE:
        return NullTranslations()
    merged: Translations | None = None
    for directory in reversed(directories):  # built-in first, the store's merged over it
        path = catalog_path(directory, locale)
        if path.is_file():
            stat = path.stat()
            found = _read_cached(path, (stat.st_mtime_ns, stat.st_size))
            merged = found if merged is None else _merged(merged, found)
    return merged if merged is not None else NullTranslations()


def _merged(base: Translations, over: Translations) -> Translations:
    combined = Translations(domain=DOMAIN)  # a new one: the cached catalogs stay as read
    combined.merge(base)
    combined.merge(over)
    return combined


def stamp(directories: Sequence[Path], locale: str) -> str:
    """What the catalogs of `locale` are now (their sizes and times): part of a compiled version."""
    if locale == SOURCE:
        return ""
    found = []
    for directory in directories:
        path = catalog_path(directory, locale)
        if path.is_file():
            stat = path.stat()
            found.append(f"{path}:{stat.st_mtime_ns}:{stat.st_size}")
    return "|".join(found)
