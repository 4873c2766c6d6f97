"""nurture makemigrations: write a migration for model changes (developers only)."""

from __future__ import annotations

import json
import tempfile

import click

from nurture.cli.common import run, settings
from nurture.db import tortoise_config, tortoise_url
from nurture.docs import documents
from nurture.terminal import console


@click.command(hidden=True)
@click.option("--name", default=None, help="A short name for the migration file.")
def makemigrations(name: str | None) -> None:
    """Write a new migration into migrations/ from the difference between models and migrations."""
    from tortoise.cli.cli import run_cli_async  # only developers run this: loaded here, not at start

    current = settings()
    config = tortoise_config(current)
    config["connections"]["default"] = tortoise_url(current.database_url)  # JSON: a URL, no classes
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config, handle)
    args = ["--config-file", handle.name, "makemigrations"] + (["--name", name] if name else [])
    code = run(run_cli_async(args))
    console.print("done" if code == 0 else f"tortoise exited with {code}")


def register(group: click.Group) -> None:
    group.add_command(makemigrations)


@click.command()
@click.option("--check", is_flag=True, help="Exit 1 when a generated document is out of date.")
@click.pass_context
def docs(ctx: click.Context, check: bool) -> None:
    """Regenerate docs/journeys.md and docs/cli.md from the schema and the commands."""
    root = ctx.find_root().command
    assert isinstance(root, click.Group)
    stale = []
    for path, text in documents(root).items():
        if not path.exists() or path.read_text() != text:
            stale.append(path)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if check and stale:
        raise SystemExit(f"out of date: {', '.join(str(p) for p in stale)}; run `nurture docs`")
    console.print("docs are current" if not stale else f"wrote {', '.join(str(p) for p in stale)}")


def register_docs(group: click.Group) -> None:
    group.add_command(docs)
