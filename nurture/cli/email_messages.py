"""nurture emails messages: keep the email message catalogs in step with the templates."""

from __future__ import annotations

from pathlib import Path

import click

import webhooks
from emails import messages
from emails.library import TEMPLATES
from journeys.library import TEMPLATES as JOURNEYS
from nurture.terminal import CliError, console

SOURCES = messages.Sources(TEMPLATES, JOURNEYS, Path(webhooks.__file__).parent)


@click.command("messages")
@click.option("--add", "add", metavar="LANG", help="Start a catalog for a language (e.g. fr).")
@click.option("--missing", metavar="LANG", help="List the messages a language does not translate yet.")
def messages_command(add: str | None, missing: str | None) -> None:
    """Extract the copy templates mark for translation; update every language's catalog."""
    if add:
        try:
            path = messages.add_language(SOURCES, add.replace("-", "_"))
        except FileExistsError as error:
            raise CliError(f"{error}: translate it, or see `nurture emails messages --missing {add}`") from None
        console.print(f"started {path}: translate its messages (msgstr), then preview with --locale {add}")
        return
    if missing:
        try:
            lacking = messages.missing(TEMPLATES, missing.replace("-", "_"))
        except FileNotFoundError:
            raise CliError(f"no catalog for {missing!r}: start one with `nurture emails messages --add {missing}`") \
                from None
        for message in lacking:
            console.print(f"- {message}", markup=False)
        console.print(f"{len(lacking)} message(s) not translated into {missing} (sent in English until they are)")
        return
    changed = messages.write_all(SOURCES)
    console.print("\n".join(f"updated {path}" for path in changed) or "the catalogs are up to date")
