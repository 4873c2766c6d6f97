from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('nurture', '0008_catalog_and_shop_codes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Attribution',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('order', fields.OneToOneField('nurture.Order', source_field='order_id', db_constraint=True, to_field='id', related_name='attribution', on_delete=OnDelete.CASCADE)),
                ('contact', fields.ForeignKeyField('nurture.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='attributions', on_delete=OnDelete.CASCADE)),
                ('message_ref', fields.BigIntField()),
                ('journey_ref', fields.BigIntField(null=True)),
                ('step_ref', fields.CharField(default='', max_length=200)),
                ('variant', fields.CharField(default='', max_length=32)),
                ('template', fields.CharField(default='', max_length=200)),
                ('touch', fields.CharField(max_length=8)),
                ('touched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('placed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('amount', fields.DecimalField(max_digits=14, decimal_places=2)),
                ('currency', fields.CharField(default='', max_length=8)),
                ('click_window_s', fields.IntField()),
                ('open_window_s', fields.IntField()),
                ('attributed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'attributions', 'app': 'nurture', 'indexes': [Index(fields=['journey_ref', 'placed_at'])], 'pk_attr': 'id', 'table_description': 'The email an order is credited to (journeys/attribution.py): one per order, kept as decided.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='JourneyVersion',
            name='split_winners',
            field=fields.JSONField(default=dict, db_default={}, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='Message',
            name='complained_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Message',
            name='step_ref',
            field=fields.CharField(default='', db_default='', max_length=200),
        ),
        ops.AddField(
            model_name='Message',
            name='unsubscribed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Message',
            name='variant',
            field=fields.CharField(default='', db_default='', max_length=32),
        ),
        ops.AddIndex(
            model_name='Order',
            index=Index(fields=['contact_id', 'placed_at']),
        ),
    ]
