"""Coupon pools: uploaded codes assigned once each, or generated with a prefix when none are left."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.transactions import in_transaction

from journeys.models import Coupon, CouponPool


async def upsert_pool(key: str, description: str = "", generate_prefix: str = "") -> CouponPool:
    pool, _ = await CouponPool.get_or_create(key=key, defaults={"description": description,
                                                                "generate_prefix": generate_prefix})
    changed = False
    if description and pool.description != description:
        pool.description, changed = description, True
    if generate_prefix and pool.generate_prefix != generate_prefix:
        pool.generate_prefix, changed = generate_prefix, True
    if changed:
        await pool.save()
    return pool


async def add_codes(pool: CouponPool, codes: Iterable[str]) -> int:
    """Adds codes not in the pool yet; returns how many were new."""
    wanted = {c.strip() for c in codes if c.strip()}
    async with in_transaction():
        existing = set(await Coupon.filter(pool=pool, code__in=list(wanted)).values_list("code", flat=True))
        fresh = sorted(wanted - existing)
        await Coupon.bulk_create([Coupon(pool=pool, code=code) for code in fresh])
    return len(fresh)


async def pool_summary() -> list[tuple[str, str, int, int, str, str, int]]:
    """(key, description, codes, unassigned, prefix, source, redeemed) per pool."""
    rows = []
    for pool in await CouponPool.all().order_by("key"):
        total = await Coupon.filter(pool=pool).count()
        free = await Coupon.filter(pool=pool, assigned_at=None).count()
        redeemed = await Coupon.filter(pool=pool, redeemed_at__isnull=False).count()
        rows.append((pool.key, pool.description, total, free, pool.generate_prefix, pool.source, redeemed))
    return rows
