"""Apply the Tortoise migrations in `migrations/` and check they match the models.

Both run in a Tortoise context of their own, so they never touch the
connections of a running service in the same process.
"""

from __future__ import annotations

from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from core.settings import Settings
from nurture.db import APP_LABEL, create_sqlite_file, tortoise_config


async def apply_migrations(settings: Settings) -> list[str]:
    """Returns the names of the migrations applied now (empty when up to date)."""
    create_sqlite_file(settings)
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")

    async with TortoiseContext():
        await migrate(config=tortoise_config(settings), progress=progress)
    return applied


async def pending_model_changes(settings: Settings) -> list[str]:
    """What `makemigrations` would write: empty when models and migrations agree."""
    config = tortoise_config(settings)
    async with TortoiseContext():
        await Tortoise.init(config=config, init_connections=False)
        apps = Tortoise.apps
        assert apps is not None
        detector = MigrationAutodetector(apps, {APP_LABEL: config["apps"][APP_LABEL]})
        writers = await detector.changes()
    return [f"{w.app_label}.{w.name}: {len(w.operations)} operations" for w in writers]
