from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from honeydue.models.enums import EmailStatus, NotificationType
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0007_calendar_feeds')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EmailDelivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('honeydue.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='email_deliveries', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=64)),
                ('to', fields.CharField(max_length=254)),
                ('transactional', fields.BooleanField(default=True)),
                ('notification_type', fields.CharEnumField(null=True, description='TASK_DUE_SOON: TASK_DUE_SOON\nTASK_OVERDUE: TASK_OVERDUE\nWARRANTY_EXPIRING: WARRANTY_EXPIRING\nRESIDENCE_SHARED: RESIDENCE_SHARED\nONBOARDING: ONBOARDING', enum_type=NotificationType, max_length=32)),
                ('status', fields.CharEnumField(default=EmailStatus.QUEUED, description='QUEUED: QUEUED\nSENT: SENT\nFAILED: FAILED', enum_type=EmailStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('message_id', fields.CharField(null=True, max_length=255)),
                ('context', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('attempt_log', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('once_key', fields.CharField(null=True, unique=True, max_length=128)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'email_deliveries', 'app': 'honeydue', 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['kind', 'status', 'created_at'])], 'pk_attr': 'id'},
            bases=['UUIDModel'],
        ),
        ops.AlterField(
            model_name='Notification',
            name='type',
            field=fields.CharEnumField(description='TASK_DUE_SOON: TASK_DUE_SOON\nTASK_OVERDUE: TASK_OVERDUE\nWARRANTY_EXPIRING: WARRANTY_EXPIRING\nRESIDENCE_SHARED: RESIDENCE_SHARED\nONBOARDING: ONBOARDING', enum_type=NotificationType, max_length=32),
        ),
        ops.AlterField(
            model_name='NotificationPreference',
            name='type',
            field=fields.CharEnumField(description='TASK_DUE_SOON: TASK_DUE_SOON\nTASK_OVERDUE: TASK_OVERDUE\nWARRANTY_EXPIRING: WARRANTY_EXPIRING\nRESIDENCE_SHARED: RESIDENCE_SHARED\nONBOARDING: ONBOARDING', enum_type=NotificationType, max_length=32),
        ),
        ops.AddField(
            model_name='User',
            name='email_verified',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='User',
            name='email_verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
