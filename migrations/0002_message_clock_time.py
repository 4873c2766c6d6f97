from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('nurture', '0001_initial')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Message',
            name='queued_at',
            field=fields.DatetimeField(auto_now=False, auto_now_add=False),
        ),
    ]
