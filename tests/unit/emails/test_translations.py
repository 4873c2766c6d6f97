"""The built-in languages are complete: every template renders in Japanese, Chinese and Turkish with
every message translated and no English left but data and brand names; the catalogs hold what the
templates mark today."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import webhooks
from emails import messages
from emails.library import TEMPLATES
from emails.render import TemplateLibrary, render
from emails.samples import sample_context
from journeys.library import TEMPLATES as JOURNEYS

LANGUAGES = ("ja", "zh", "tr")
SOURCES = messages.Sources(TEMPLATES, JOURNEYS, Path(webhooks.__file__).parent)
LIBRARY = TemplateLibrary(TEMPLATES)
_WORD = re.compile(r"[A-Za-z][A-Za-z']{2,}")
# Spelt alike in both: Turkish "form", "demo", "test", "minimum", "not" (a note), "size" (to you).
SHARED = {"tr": {"form", "demo", "test", "size", "minimum", "not"}}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)
    elif isinstance(value, str):
        yield value


DATA = sorted({s for s in _strings(sample_context()) if len(s) > 2}, key=len, reverse=True)


def _words(text: str) -> set[str]:
    """The words of an email that are copy: sample data, URLs and addresses taken out."""
    text = re.sub(r"https?://[!-~]+|[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", " ", text)
    for value in DATA:
        text = text.replace(value, " ")
    return {word.lower() for word in _WORD.findall(text)}


def test_the_catalog_template_holds_what_the_templates_mark() -> None:
    assert messages.current(SOURCES), "run `nurture emails messages` and commit the catalogs"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    assert messages.missing(TEMPLATES, language) == []
    assert language in LIBRARY.languages()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_without_english(language: str) -> None:
    for name in LIBRARY.names():
        for custom in ({}, {"copy_only": True}):
            context = sample_context() | {"custom": custom}
            english = render(LIBRARY, name, context)
            shown = render(LIBRARY, name, context, locale=language)
            assert f'lang="{"zh-Hans" if language == "zh" else language}"' in shown.html
            left = _words(shown.subject + "\n" + shown.text)
            if language in ("ja", "zh"):  # no Latin words at all once data is out
                assert not left, f"{name} in {language}: {sorted(left)}"
            else:  # Turkish is written in Latin letters: no word of the English email may remain
                same = left & _words(english.subject + "\n" + english.text) - SHARED.get(language, set())
                assert not same, f"{name} in {language}: {sorted(same)}"


def test_a_store_catalog_overrides_a_built_in_message(tmp_path: Path) -> None:
    own = tmp_path / "locale" / "ja" / "LC_MESSAGES"
    own.mkdir(parents=True)
    (own / "emails.po").write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                                   'msgid "Unsubscribe"\nmsgstr "配信停止はこちら"\n', encoding="utf-8")
    library = TemplateLibrary([tmp_path, TEMPLATES])
    text = render(library, "welcome-1", sample_context(), locale="ja").text
    assert "配信停止はこちら" in text
    assert render(LIBRARY, "welcome-1", sample_context(), locale="ja").subject == \
        render(library, "welcome-1", sample_context(), locale="ja").subject  # the rest is the built-in catalog
