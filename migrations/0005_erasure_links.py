from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('nurture', '0004_inbox_lz4')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Erasure',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('erased_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('request', fields.CharField(default='', max_length=200)),
                ('contact_ref', fields.BigIntField()),
                ('removed', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'erasures', 'app': 'nurture', 'pk_attr': 'id', 'table_description': 'That an erasure happened, and how much it removed: no personal data (the contact is gone).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Event',
            name='delivery_id',
            field=fields.BigIntField(null=True, db_index=True),
        ),
    ]
