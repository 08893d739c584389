from tortoise import migrations
from tortoise.migrations import operations as ops
from honeydue.models.enums import RotationMode
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0008_email_deliveries')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TaskRotationMember',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('task', fields.ForeignKeyField('honeydue.Task', source_field='task_id', db_constraint=True, to_field='id', related_name='rotation_members', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('honeydue.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
            ],
            options={'table': 'task_rotation_members', 'app': 'honeydue', 'unique_together': (('task', 'user'),), 'pk_attr': 'id', 'table_description': "One member of a task's rotation, at ``position`` in its order (0 first)."},
            bases=['UUIDModel'],
        ),
        ops.AddField(
            model_name='Task',
            name='rotation_mode',
            field=fields.CharEnumField(default=RotationMode.FIXED, db_default=RotationMode.FIXED, description='FIXED: FIXED\nROUND_ROBIN: ROUND_ROBIN\nFEWEST_COMPLETIONS: FEWEST_COMPLETIONS', enum_type=RotationMode, max_length=24),
        ),
        ops.AddField(
            model_name='Task',
            name='snoozed_until',
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name='TaskCompletion',
            name='skipped',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
