from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from journeys.quote_models import QuoteStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('nurture', '0009_attribution')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Quote',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('contact', fields.ForeignKeyField('nurture.Contact', source_field='contact_id', db_constraint=True, to_field='id', related_name='quotes', on_delete=OnDelete.CASCADE)),
                ('task', fields.OneToOneField('nurture.Task', source_field='task_id', null=True, db_constraint=True, to_field='id', related_name='quote', on_delete=OnDelete.SET_NULL)),
                ('enrollment_ref', fields.BigIntField(null=True)),
                ('status', fields.CharEnumField(default=QuoteStatus.DRAFT, description='DRAFT: draft\nSENT: sent\nACCEPTED: accepted\nREJECTED: rejected', enum_type=QuoteStatus, max_length=8)),
                ('currency', fields.CharField(max_length=3)),
                ('lines', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('tax_rate', fields.DecimalField(default=0, max_digits=6, decimal_places=3)),
                ('tax_label', fields.CharField(default='Tax', max_length=32)),
                ('tax_included', fields.BooleanField(default=False)),
                ('valid_until', fields.DateField()),
                ('note', fields.TextField(default='', unique=False)),
                ('company', fields.CharField(default='', max_length=255)),
                ('total', fields.DecimalField(null=True, max_digits=18, decimal_places=3)),
                ('priced_by', fields.CharField(default='', max_length=32)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('draft_order_id', fields.CharField(default='', max_length=100)),
                ('invoice_url', fields.CharField(default='', max_length=1000)),
                ('shop_error', fields.TextField(default='', unique=False)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'quotes', 'app': 'nurture', 'indexes': [Index(fields=['contact_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
