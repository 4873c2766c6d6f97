"""The console's contact search by the beginning of an email or a name, served by indexes on
PostgreSQL (`varchar_pattern_ops`: LIKE 'prefix%' whatever the database's collation), on the very
expressions Tortoise writes for startswith and istartswith (SQLite, a store's first steps, scans);
and the inbox's recent deliveries by time, on both."""

from tortoise import migrations
from tortoise.migrations import operations as ops

CREATE = [
    "CREATE INDEX IF NOT EXISTS idx_contacts_email_prefix ON contacts ((CAST(email AS VARCHAR)) varchar_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS idx_contacts_first_prefix ON contacts "
    "((UPPER(CAST(first_name AS VARCHAR))) varchar_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS idx_contacts_last_prefix ON contacts "
    "((UPPER(CAST(last_name AS VARCHAR))) varchar_pattern_ops)",
]
DROP = ["DROP INDEX IF EXISTS idx_contacts_email_prefix", "DROP INDEX IF EXISTS idx_contacts_first_prefix",
        "DROP INDEX IF EXISTS idx_contacts_last_prefix"]


RECENT = "CREATE INDEX IF NOT EXISTS idx_inbound_received ON inbound_deliveries (received_at, provider, status)"


async def create(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(RECENT)
    if schema_editor.client.capabilities.dialect == "postgres":
        for statement in CREATE:
            await schema_editor.client.execute_script(statement)


async def drop(apps, schema_editor) -> None:
    await schema_editor.client.execute_script("DROP INDEX IF EXISTS idx_inbound_received")
    if schema_editor.client.capabilities.dialect == "postgres":
        for statement in DROP:
            await schema_editor.client.execute_script(statement)


class Migration(migrations.Migration):
    dependencies = [('nurture', '0011_message_locale')]

    initial = False

    operations = [ops.RunPython(create, drop)]
