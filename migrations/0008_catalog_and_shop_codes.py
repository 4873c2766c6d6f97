from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('nurture', '0007_order_refunds_fulfilments')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Product',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('shopify_id', fields.BigIntField(unique=True)),
                ('title', fields.CharField(default='', max_length=300)),
                ('handle', fields.CharField(default='', max_length=300)),
                ('status', fields.CharField(default='active', max_length=16)),
                ('vendor', fields.CharField(default='', max_length=255)),
                ('product_type', fields.CharField(default='', max_length=255)),
                ('image_url', fields.CharField(default='', max_length=1000)),
                ('tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('collections', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('source_updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'products', 'app': 'nurture', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Shop',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('domain', fields.CharField(unique=True, max_length=255)),
                ('name', fields.CharField(default='', max_length=255)),
                ('currency', fields.CharField(default='', max_length=8)),
                ('timezone', fields.CharField(default='', max_length=64)),
                ('primary_url', fields.CharField(default='', max_length=500)),
                ('scopes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('connected_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'shops', 'app': 'nurture', 'pk_attr': 'id', 'table_description': 'The store this workspace serves, as `nurture shopify connect` read it from the Admin API.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Variant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('shopify_id', fields.BigIntField(unique=True)),
                ('product', fields.ForeignKeyField('nurture.Product', source_field='product_id', db_constraint=True, to_field='id', related_name='variants', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(default='', max_length=300)),
                ('sku', fields.CharField(default='', max_length=255)),
                ('price', fields.DecimalField(default=0, max_digits=14, decimal_places=2)),
                ('compare_at_price', fields.DecimalField(null=True, max_digits=14, decimal_places=2)),
                ('available', fields.BooleanField(default=True)),
                ('image_url', fields.CharField(default='', max_length=1000)),
                ('position', fields.IntField(default=1)),
            ],
            options={'table': 'variants', 'app': 'nurture', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Coupon',
            name='redeemed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Coupon',
            name='redeemed_order',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Coupon',
            name='shop_error',
            field=fields.CharField(default='', db_default='', max_length=500),
        ),
        ops.AddField(
            model_name='Coupon',
            name='shop_state',
            field=fields.CharField(default='', db_default='', max_length=16),
        ),
        ops.AddIndex(
            model_name='Coupon',
            index=Index(fields=['code']),
        ),
        ops.AddField(
            model_name='CouponPool',
            name='discount',
            field=fields.JSONField(default=dict, db_default={}, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='CouponPool',
            name='source',
            field=fields.CharField(default='codes', db_default='codes', max_length=16),
        ),
        ops.AddField(
            model_name='JobRun',
            name='state',
            field=fields.JSONField(default=dict, db_default={}, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
