from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('nurture', '0006_scale_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Order',
            name='fulfilled_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Order',
            name='refunded_total',
            field=fields.DecimalField(null=True, default=0, max_digits=14, decimal_places=2),
        ),
    ]
