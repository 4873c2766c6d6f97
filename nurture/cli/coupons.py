"""nurture coupons ...: the pools journeys' `coupon` steps draw from."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from core.services import Services
from journeys.coupons import add_codes, pool_summary, upsert_pool
from nurture.cli.common import run, with_services
from nurture.terminal import CliError, console


@click.group()
def coupons() -> None:
    """Coupon pools: upload codes, or let a pool generate them."""


@coupons.command("add")
@click.argument("pool")
@click.option("--code", "codes", multiple=True, help="A code to add (repeatable).")
@click.option("--file", "file", type=click.Path(path_type=Path), help="A file with one code per line.")
@click.option("--generate-prefix", default="", help="Generate codes like PREFIX3F9A1C when none are left.")
@click.option("--description", default="", help='What the code gives, e.g. "10% off your cart".')
def add(pool: str, codes: tuple[str, ...], file: Path | None, generate_prefix: str, description: str) -> None:
    """Create POOL if needed and add codes to it."""
    lines = list(codes)
    if file is not None:
        try:
            lines += file.read_text().splitlines()
        except OSError as error:
            raise CliError(f"cannot read {file}: {error.strerror}") from None
    if not lines and not generate_prefix:
        raise CliError("give codes (--code or --file) or --generate-prefix so the pool has something to hand out")

    async def work(services: Services) -> int:
        return await add_codes(await upsert_pool(pool, description, generate_prefix), lines)

    console.print(f"{pool}: {run(with_services(work))} new code(s)")


@coupons.command("list")
def list_() -> None:
    """Pools with their total and unassigned codes."""

    async def work(services: Services) -> list[tuple[str, str, int, int, str]]:
        return await pool_summary()

    table = Table("pool", "description", "codes", "unassigned", "generates")
    for key, description, total, free, prefix in run(with_services(work)):
        table.add_row(key, description, str(total), str(free), f"{prefix}…" if prefix else "no")
    console.print(table)


def register(group: click.Group) -> None:
    group.add_command(coupons)
