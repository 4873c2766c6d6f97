"""nurture emails ...: the template library, previews, what the sink received, test sends."""

from __future__ import annotations

import uuid
import webbrowser
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from contacts.models import Contact
from core.addresses import fold_address
from core.services import Services
from emails.errors import TemplateError
from emails.library import shared_library
from emails.models import Message, MessageStatus, OutboxMessage
from emails.render import RenderedEmail, TemplateLibrary, render
from emails.samples import sample_context
from journeys.delivery import contact_fields, create_message, deliver
from nurture.cli.common import run, settings, with_services
from nurture.cli.email_import import import_command
from nurture.cli.email_messages import messages_command
from nurture.terminal import CliError, console

TEST_PREFIX = "[test]"


@click.group()
def emails() -> None:
    """Email templates: list, preview, send a test, see what was sent."""


def _template(library: TemplateLibrary, name: str) -> str:
    names = library.names()
    if name not in names:
        raise CliError(f"unknown template {name!r}: use one of {', '.join(names)}")
    return name


def _subject(library: TemplateLibrary, name: str) -> str:
    try:
        return render(library, name, sample_context()).subject
    except TemplateError as error:
        return f"[error] {error.detail}"


@emails.command("list")
def list_templates() -> None:
    """List email templates with their subject lines (rendered for a sample contact)."""
    library = shared_library()
    table = Table("template", "subject (sample contact)")
    for name in library.names():
        table.add_row(name, _subject(library, name))
    console.print(table)


async def _contact_context(email: str) -> dict[str, Any]:
    async def work(services: Services) -> dict[str, Any]:
        contact = await Contact.get_or_none(email=fold_address(email))
        if contact is None:
            raise CliError(f"no contact with email {email!r}: see `nurture contacts show EMAIL`")
        context = sample_context()
        context["contact"] = contact_fields(contact)
        context["brand"] = {**context["brand"], **services.workspace.brand}
        return context

    return await with_services(work)


def _write(rendered: RenderedEmail, name: str, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    html_path, text_path = out / f"{name}.html", out / f"{name}.txt"
    html_path.write_text(rendered.html, encoding="utf-8")
    text_path.write_text(f"Subject: {rendered.subject}\n\n{rendered.text}", encoding="utf-8")
    return html_path, text_path


@emails.command("preview")
@click.argument("template")
@click.option("--contact", "contact_email", help="Render for this contact instead of the sample one.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Directory for the files.")
@click.option("--open", "open_browser", is_flag=True, help="Open the HTML in a browser.")
@click.option("--locale", help="The language, e.g. ja, tr, zh (default: the contact's, else English).")
def preview(template: str, contact_email: str | None, out: Path | None, open_browser: bool,
            locale: str | None) -> None:
    """Render TEMPLATE to an HTML and a text file and print their paths."""
    library = shared_library()
    name = _template(library, template)
    context = run(_contact_context(contact_email)) if contact_email else sample_context()
    language = _language(library, locale, str(context["contact"].get("locale") or ""))
    try:
        rendered = render(library, name, context, locale=language)
    except TemplateError as error:
        raise CliError(str(error)) from None
    suffix = "" if language == "en" else f".{language}"
    html_path, text_path = _write(rendered, name + suffix, out or settings().var_dir / "previews")
    click.echo(html_path.resolve())
    click.echo(text_path.resolve())
    if open_browser:
        webbrowser.open(html_path.resolve().as_uri())


def _language(library: TemplateLibrary, asked: str | None, contact_locale: str) -> str:
    if asked is None:
        return library.language_for(contact_locale)
    chosen = library.language_for(asked)
    if chosen == "en" and asked.split("-")[0].split("_")[0].lower() != "en":
        raise CliError(f"no emails in {asked!r}: the languages are {', '.join(library.languages())} "
                       f"(start one with `nurture emails messages --add {asked}`)")
    return chosen


@emails.command("outbox")
@click.option("--limit", default=50, show_default=True, help="How many of the newest to show.")
def outbox(limit: int) -> None:
    """What the embedded SMTP sink received (newest first)."""

    async def work(_: Services) -> list[OutboxMessage]:
        return await OutboxMessage.all().order_by("-id").limit(limit)

    rows = run(with_services(work))
    if not rows:
        console.print("The outbox is empty.")
        return
    table = Table("received", "to", "subject", "message id", "file")
    for row in rows:
        table.add_row(row.received_at.strftime("%Y-%m-%d %H:%M:%S"), ", ".join(row.recipients),
                      row.subject, row.message_id, row.path)
    console.print(table)


def _test_subject(name: str) -> str:
    """The template's own subject line, marked so a test send is never mistaken for the real one."""
    try:
        return f"{TEST_PREFIX} {shared_library().compiled(name).subject_source}"
    except TemplateError as error:
        raise CliError(str(error)) from None


async def _send_test(services: Services, name: str, to: str) -> Message:
    context = sample_context()
    contact = await Contact.get_or_none(email=fold_address(to))
    context["contact"] = {**context["contact"], "email": to, **contact_fields(contact)}
    context["brand"] = {**context["brand"], **services.workspace.brand}
    # is_test without an enrollment: delivered (journey test runs are not), kept out of analytics;
    # not marketing, so no unsubscribe headers and no frequency cap.
    message = await create_message(
        send_key=f"test:{uuid.uuid4()}", contact=contact, to_email=to, template=name, context=context,
        marketing=False, is_test=True, subject=_test_subject(name),
    )
    outcome = await deliver(services, message.id)
    if outcome.status != MessageStatus.SENT:
        raise CliError(f"not sent ({outcome.status.value}): {outcome.detail}")
    return await Message.get(id=message.id)


@emails.command("send-test")
@click.argument("template")
@click.argument("to")
def send_test(template: str, to: str) -> None:
    """Send TEMPLATE to the address TO right now: sample data, subject prefixed "[test]", not a marketing send."""
    name = _template(shared_library(), template)
    message = run(with_services(lambda services: _send_test(services, name, to)))
    click.echo(message.message_id)


emails.add_command(import_command)
emails.add_command(messages_command)


def register(group: click.Group) -> None:
    group.add_command(emails)
