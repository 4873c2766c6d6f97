"""The email message catalogs: extract what templates mark for translation, keep every language's
`.po` in step (`nurture emails messages`, `make messages`).

Extraction is Babel's, with Jinja's extractor told our build-stage delimiters; the subject lines
the built-in journeys set (`subject:` of an email step) are messages too. Updating a language
keeps its translations, marks changed ones fuzzy (shown in English until reviewed) and adds new
ones empty: `missing` lists what a language still lacks.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from emails.i18n import DOMAIN, catalog_path

TEMPLATE_OPTIONS = {
    "block_start_string": "{%@", "block_end_string": "%}", "variable_start_string": "{{@",
    "variable_end_string": "}}", "comment_start_string": "{#@", "comment_end_string": "#}",
    "trim_blocks": "true", "lstrip_blocks": "true", "trimmed": "true", "extensions": "jinja2.ext.i18n",
}
PROJECT = "Nurture emails"
FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # no timestamps in the files: regenerating changes nothing


def _subjects(steps: Any) -> Iterator[str]:
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        if isinstance(step.get("subject"), str) and "email" in step:
            yield step["subject"]
        for value in step.values():  # branches, split arms, on_reject...: steps inside steps
            if isinstance(value, list):
                yield from _subjects(value)
            elif isinstance(value, dict):
                for inner in value.values():
                    yield from _subjects(inner)


def journey_subjects(journeys: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(journeys.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for subject in _subjects(document.get("steps")):
            yield subject, path.name


@dataclass(frozen=True)
class Sources:
    """Where the messages are: email templates, the built-in journeys' subject lines, and the pages
    an email's links open (Python, `tr(language, "...")` calls)."""

    templates: Path
    journeys: Path
    pages: Path


def extract(sources: Sources) -> Catalog:
    catalog = Catalog(project=PROJECT, domain=DOMAIN, creation_date=FIXED_DATE, revision_date=FIXED_DATE,
                      fuzzy=False)
    for filename, lineno, message, comments, _context in extract_from_dir(
            sources.templates, [("**.mjml.j2", "jinja2")], options_map={"**.mjml.j2": TEMPLATE_OPTIONS}):
        catalog.add(message, locations=[(f"templates/{filename}", lineno)], auto_comments=comments)
    for subject, name in journey_subjects(sources.journeys):
        catalog.add(subject, locations=[(f"journeys/{name}", 0)], auto_comments=["a journey's subject line"])
    for filename, lineno, message, comments, _context in extract_from_dir(
            sources.pages, [("**.py", "python")], keywords={"tr": (2,)}):
        catalog.add(message, locations=[(f"pages/{filename}", lineno)], auto_comments=comments,
                    flags=("python-format",) if "%(" in str(message) else ())
    return catalog


def _text(catalog: Catalog) -> str:
    out = io.BytesIO()
    write_po(out, catalog, width=100, sort_output=True, omit_header=False)
    return out.getvalue().decode("utf-8")


def template_path(templates: Path) -> Path:
    return templates / "locale" / f"{DOMAIN}.pot"


def write_all(sources: Sources) -> list[Path]:
    """Write the template (.pot) and update every language's .po; returns the files changed."""
    templates = sources.templates
    template = extract(sources)
    changed = _write(template_path(templates), _text(template))
    for po in sorted((templates / "locale").glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, domain=DOMAIN)
        catalog.update(template, update_header_comment=False, no_fuzzy_matching=False)
        catalog.obsolete.clear()  # a message no template says any more is gone, not kept commented out
        changed += _write(po, _text(catalog))
    return changed


def _write(path: Path, text: str) -> list[Path]:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return [path]


def missing(templates: Path, locale: str) -> list[str]:
    """The messages `locale` does not translate yet (untranslated or fuzzy)."""
    path = catalog_path(templates, locale)
    with path.open("rb") as handle:
        catalog = read_po(handle, domain=DOMAIN)
    return [str(m.id) for m in catalog if m.id and (not m.string or m.fuzzy)]


def current(sources: Sources) -> bool:
    """Whether the committed .pot holds exactly what the templates mark today."""
    path = template_path(sources.templates)
    return path.is_file() and path.read_text(encoding="utf-8") == _text(extract(sources))


def add_language(sources: Sources, locale: str) -> Path:
    """Start a catalog for `locale` (every message untranslated)."""
    path = catalog_path(sources.templates, locale)
    if path.exists():
        raise FileExistsError(f"{path} exists already")
    catalog = Catalog(locale=locale, project=PROJECT, domain=DOMAIN, creation_date=FIXED_DATE,
                      revision_date=FIXED_DATE, fuzzy=False)
    catalog.update(extract(sources))
    _write(path, _text(catalog))
    return path
