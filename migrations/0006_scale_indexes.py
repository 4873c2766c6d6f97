from tortoise import migrations
from tortoise.migrations import operations as ops
from jobs.models import RunStatus
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('nurture', '0005_erasure_links')]

    initial = False

    operations = [
        ops.CreateModel(
            name='JobRun',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('period', fields.CharField(default='', max_length=32)),
                ('status', fields.CharEnumField(default=RunStatus.RUNNING, description='RUNNING: running\nCOMPLETED: completed\nFAILED: failed', enum_type=RunStatus, max_length=9)),
                ('cursor', fields.BigIntField(default=0)),
                ('processed', fields.BigIntField(default=0)),
                ('changed', fields.BigIntField(default=0)),
                ('chunks', fields.IntField(default=0)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'job_runs', 'app': 'nurture', 'unique_together': (('name', 'period'),), 'indexes': [Index(fields=['name', 'started_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Enrollment',
            index=Index(fields=['journey_id', 'state', 'exit_reason', 'variant']),
        ),
        ops.AddIndex(
            model_name='Enrollment',
            index=Index(fields=['contact_id', 'journey_id', 'entered_at']),
        ),
        ops.AddIndex(
            model_name='Event',
            index=Index(fields=['contact_id', 'type', 'occurred_at']),
        ),
        ops.AlterField(
            model_name='Message',
            name='provider_id',
            field=fields.CharField(default='', db_index=True, max_length=300),
        ),
        ops.AddField(
            model_name='Message',
            name='journey_ref',
            field=fields.BigIntField(null=True),
        ),
        ops.AddIndex(
            model_name='Message',
            index=Index(fields=['journey_ref', 'is_test']),
        ),
        ops.AddField(
            model_name='StepRun',
            name='journey_ref',
            field=fields.BigIntField(null=True),
        ),
        ops.AddIndex(
            model_name='StepRun',
            index=Index(fields=['journey_ref', 'step_id', 'kind']),
        ),
        # Rows written before the columns existed get their journey from their enrollment.
        ops.RunSQL([
            "UPDATE step_runs SET journey_ref = (SELECT journey_id FROM enrollments"
            " WHERE enrollments.id = step_runs.enrollment_id) WHERE journey_ref IS NULL",
            "UPDATE messages SET journey_ref = (SELECT journey_id FROM enrollments"
            " WHERE enrollments.id = messages.enrollment_ref) WHERE journey_ref IS NULL AND enrollment_ref IS NOT NULL",
        ], reverse_sql="SELECT 1"),
        # On SQLite, altering a column rebuilds the table without its indexes (0002 did so): put back
        # every index of messages under the names PostgreSQL has (where they exist, nothing happens).
        ops.RunSQL([
            "CREATE INDEX IF NOT EXISTS idx_messages_contact_bf89fd ON messages (contact_id, sent_at)",
            "CREATE INDEX IF NOT EXISTS idx_messages_enrollm_61f684 ON messages (enrollment_ref)",
            "CREATE INDEX IF NOT EXISTS idx_messages_message_9405cd ON messages (message_id)",
            "CREATE INDEX IF NOT EXISTS idx_messages_provide_6a97aa ON messages (provider_id)",
            "CREATE INDEX IF NOT EXISTS idx_messages_status_99af7c ON messages (status, queued_at)",
        ], reverse_sql="SELECT 1"),
    ]
