"""`nurture` command line: one entry point, commands grouped by resource."""

from __future__ import annotations

import contextlib
import sys

import click

from core.settings import SettingsError
from emails.library import use_store_templates
from nurture.cli import attribution, contacts, coupons, dev_tools, emails, inbox, jobs, journeys, server, simulate
from nurture.cli import console as console_cli
from nurture.cli import shopify as shopify_cli
from nurture.cli import slack as slack_cli
from nurture.settings import load_settings
from nurture.terminal import CliError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nurture")
def cli() -> None:
    """Nurture: marketing automation with a Slack front door.

    Configuration comes from NURTURE_* environment variables (or a .env file);
    with none set, everything runs embedded under ./var.
    """
    # The store's templates count for every command (validate, preview, import...); a command that
    # needs the settings says what is wrong with them.
    with contextlib.suppress(SettingsError):
        use_store_templates(load_settings().store_templates)


server.register(cli)
server.register_demo(cli)
contacts.register(cli)
inbox.register(cli)
jobs.register(cli)
emails.register(cli)
journeys.register(cli)
attribution.register(cli)
simulate.register(cli)
coupons.register(cli)
dev_tools.register(cli)
dev_tools.register_docs(cli)
slack_cli.register(cli)
shopify_cli.register(cli)
console_cli.register(cli)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.ClickException as error:
        error.show()
        sys.exit(2 if isinstance(error, click.UsageError) else error.exit_code)
    except (SettingsError, CliError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
