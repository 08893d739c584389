from tortoise import migrations
from tortoise.migrations import operations as ops
from honeydue.models.enums import NotificationAction
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0013_account_tokens')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActionToken',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('honeydue.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('task', fields.ForeignKeyField('honeydue.Task', source_field='task_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('action', fields.CharEnumField(description='DONE: done\nSNOOZE: snooze', enum_type=NotificationAction, max_length=16)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('due_date', fields.DateField(null=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'action_tokens', 'app': 'honeydue', 'indexes': [Index(fields=['expires_at'])], 'pk_attr': 'id'},
            bases=['UUIDModel'],
        ),
    ]
