from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('nurture', '0010_quotes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Message',
            name='locale',
            field=fields.CharField(default='', db_default='', max_length=16),
        ),
    ]
