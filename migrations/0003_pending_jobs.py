from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('nurture', '0002_message_clock_time')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PendingJob',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job_id', fields.CharField(unique=True, max_length=200)),
                ('name', fields.CharField(max_length=64)),
                ('kwargs', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pending_jobs', 'app': 'nurture', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
