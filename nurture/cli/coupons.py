"""nurture coupons ...: the pools journeys' `coupon` steps draw from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from core.services import Services
from journeys.coupons import add_codes, pool_summary, upsert_pool
from journeys.models import Coupon, CouponPool
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
@click.option("--shopify", "in_shop", is_flag=True,
              help="Create each code in the Shopify store for its customer (one use), as --percent/--amount say.")
@click.option("--percent", type=click.FloatRange(0, 100, min_open=True), help="Shopify codes: percent off.")
@click.option("--amount", type=click.FloatRange(0, min_open=True), help="Shopify codes: this much off, shop currency.")
@click.option("--minimum", type=click.FloatRange(0, min_open=True), help="Shopify codes: minimum order subtotal.")
@click.option("--expires-days", type=click.IntRange(1, 3650), help="Shopify codes: valid this many days.")
def add(pool: str, codes: tuple[str, ...], file: Path | None, generate_prefix: str, description: str,
        in_shop: bool, percent: float | None, amount: float | None, minimum: float | None,
        expires_days: int | None) -> None:
    """Create POOL if needed and add codes to it (or, with --shopify, have each code created in the shop)."""
    if in_shop:
        discount = _shop_discount(percent, amount, minimum, expires_days, codes, file)
        run(with_services(lambda services: _shop_pool(services, pool, description, generate_prefix, discount)))
        console.print(f"{pool}: codes will be created in Shopify, one per customer ({_describe(discount)})")
        return
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


def _shop_discount(percent: float | None, amount: float | None, minimum: float | None, expires_days: int | None,
                   codes: tuple[str, ...], file: Path | None) -> dict[str, Any]:
    if codes or file:
        raise CliError("--shopify pools create their own codes: leave out --code and --file")
    if (percent is None) == (amount is None):
        raise CliError("say what a Shopify code gives: --percent 10 or --amount 5 (one of them)")
    discount: dict[str, Any] = {"kind": "percentage", "value": f"{percent:g}"} if percent is not None \
        else {"kind": "fixed_amount", "value": f"{amount:.2f}"}
    if minimum is not None:
        discount["minimum"] = f"{minimum:.2f}"
    if expires_days is not None:
        discount["expires_days"] = expires_days
    return discount


def _describe(discount: dict[str, Any]) -> str:
    value = f"{discount['value']}%" if discount["kind"] == "percentage" else f"{discount['value']} off"
    extra = [f"minimum {discount['minimum']}"] if "minimum" in discount else []
    extra += [f"valid {discount['expires_days']} days"] if "expires_days" in discount else []
    return ", ".join([value, "one use", *extra])


async def _shop_pool(services: Services, key: str, description: str, prefix: str, discount: dict[str, Any]) -> None:
    if services.shop is None:
        raise CliError("--shopify needs the Admin API: set NURTURE_SHOPIFY_SHOP and NURTURE_SHOPIFY_ADMIN_TOKEN "
                       "(the token needs the write_discounts scope)")
    pool = await upsert_pool(key, description, prefix or f"{key.upper()[:12]}-")
    if pool.source != "shopify" and await Coupon.filter(pool=pool).exists():
        raise CliError(f"pool {key!r} already holds uploaded codes: give the Shopify pool another name")
    await CouponPool.filter(id=pool.id).update(source="shopify", discount=discount)


@coupons.command("list")
def list_() -> None:
    """Pools with their total and unassigned codes."""

    async def work(services: Services) -> list[tuple[str, str, int, int, str, str, int]]:
        return await pool_summary()

    table = Table("pool", "description", "source", "codes", "unassigned", "redeemed", "generates")
    for key, description, total, free, prefix, source, redeemed in run(with_services(work)):
        shop = source == "shopify"
        table.add_row(key, description, "Shopify (made per customer)" if shop else "uploaded codes", str(total),
                      "-" if shop else str(free), str(redeemed), f"{prefix}…" if prefix else "no")
    console.print(table)


def register(group: click.Group) -> None:
    group.add_command(coupons)
