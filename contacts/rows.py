"""Rows a batch inserts at its end: ids handed out when a row is made, one prepared INSERT for all.

An event's id names what it causes (the events contact intelligence derives from it carry it in
their keys) as soon as it is applied, but inserting each event on its own was the largest cost of
applying a batch (a round trip and the ORM's save for every row). So a batch takes ids from the
table's own counter up front, builds the rows in memory, and inserts them together when it ends.
"""

from __future__ import annotations

from typing import Any

from tortoise.models import Model


class IdBlock:
    """Ids for one table's new rows, reserved before the rows exist, so nothing else takes them."""

    def __init__(self, model: type[Model]) -> None:
        self.model = model
        self._free: list[int] = []  # reserved on PostgreSQL, largest first
        self._next: int | None = None  # SQLite's next id, counted here

    async def take(self, expected: int) -> int:
        """One id; `expected`: how many more this batch may want (reserved together on PostgreSQL)."""
        if self._free:
            return self._free.pop()
        db = self.model._meta.db
        table = self.model._meta.db_table
        if db.capabilities.dialect == "postgres":
            # Values of one nextval() call over a series come in increasing order: events keep the
            # order they were applied in. Unused ones are gaps, as after any rolled-back insert.
            rows = await db.execute_query_dict(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id FROM generate_series(1, $1)",
                [max(1, expected)])
            self._free = sorted((int(row["id"]) for row in rows), reverse=True)
            return self._free.pop()
        if self._next is None:
            # The batch's transaction holds SQLite's write lock from its BEGIN (nurture.sqlite_backend):
            # nobody inserts meanwhile. AUTOINCREMENT never reuses an id, not even a deleted row's.
            rows = await db.execute_query_dict(
                "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), "
                f'coalesce((SELECT max(id) FROM "{table}"), 0)) AS id', [table])
            self._next = int(rows[0]["id"]) + 1
        taken, self._next = self._next, self._next + 1
        return taken


async def insert_all(rows: list[Any]) -> None:
    """Insert new rows of one model with one prepared INSERT; they count as saved afterwards."""
    if rows:
        await type(rows[0]).bulk_create(rows)
        for row in rows:
            row._saved_in_db = True


async def write_all(rows: list[Any], fields: tuple[str, ...] | None = None) -> None:
    """Save rows of one model with one prepared UPDATE run for each (Model.save builds and sends one
    statement a row). `fields`: the columns to write, else every one, as `save()` does."""
    if len(rows) <= 1:
        for row in rows:
            await row.save(update_fields=fields)
        return
    model: type[Model] = type(rows[0])
    db = model._meta.db
    executor = db.executor_class(model=model, db=db)
    meta = model._meta
    names = [name for name in (fields or meta.fields_db_projection)
             if not (meta.fields_map[name].pk or meta.fields_map[name].generated)]
    sql = executor.get_update_sql(names if fields else None, None)
    await db.execute_many(sql, [
        [*(meta.fields_map[name].to_db_value(getattr(row, name), row) for name in names),
         meta.pk.to_db_value(row.pk, row)] for row in rows])
