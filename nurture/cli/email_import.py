"""nurture emails import FILE.mjml: a designer's or a gallery's MJML file as one of the store's templates."""

from __future__ import annotations

import re
from pathlib import Path

import click
from rich.table import Table

from emails.errors import TemplateError
from emails.importer import ImportError_, import_mjml
from emails.library import shared_library, use_store_templates
from emails.render import SUFFIX
from nurture.cli.common import settings
from nurture.terminal import CliError, console


def _key(file: Path, key: str | None) -> str:
    chosen = key or re.sub(r"[^a-z0-9-]+", "-", file.name.removesuffix(".mjml").lower()).strip("-")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,80}", chosen):
        raise CliError(f"{chosen!r} is not a template key: lower-case letters, digits and dashes (--key)")
    return chosen


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--key", help="The template's name (default: from the file name).")
@click.option("--subject", default="", help="The subject line (default: the file's <mj-title>); placeholders allowed.")
@click.option("--transactional", is_flag=True, help="Not marketing: no unsubscribe footer is added.")
@click.option("--force", is_flag=True, help="Replace a template of the store's with the same key.")
def import_command(file: Path, key: str | None, subject: str, transactional: bool, force: bool) -> None:
    """Import an MJML file into the store's templates folder (NURTURE_TEMPLATES_DIR, default
    templates/ beside nurture.yml): placeholders such as {{FirstName}}, *|FNAME|* or [[first_name]]
    become contact fields, the rest of the file stays as designed."""
    try:
        source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read {file}: {error}") from None
    name = _key(file, key)
    try:
        imported = import_mjml(source, subject, marketing=not transactional)
    except ImportError_ as error:
        raise CliError(f"{file}: {error}") from None
    folder = settings().store_templates
    target = folder / f"{name}{SUFFIX}"
    if target.exists() and not force:
        raise CliError(f"{target} exists: choose another --key, or --force to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(imported.source, encoding="utf-8")
    use_store_templates(folder)
    try:
        shared_library().validate(name)
    except TemplateError as error:
        target.unlink()
        raise CliError(f"{file} does not compile as a template: {error}") from None
    _report(name, target, imported.mapped, imported.unmapped, imported.footer_added)


def _report(name: str, target: Path, mapped: dict[str, str], unmapped: list[str], footer: bool) -> None:
    table = Table("placeholder in the file", "becomes", title=f"{name}: imported to {target}")
    for written, expression in mapped.items():
        table.add_row(written, "{{ " + expression + " }}")
    for written in unmapped:
        table.add_row(written, "[yellow]left as text: no field of ours matches[/yellow]")
    console.print(table)
    if footer:
        console.print("Added the unsubscribe footer (unsubscribe, preferences, postal address): the file had none.")
    console.print(f"Use it in a journey as `- email: {name}`; preview: nurture emails preview {name}")
