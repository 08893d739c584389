from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from honeydue.models.enums import DeliveryKind, DeliveryStatus, NotificationChannelKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0017_action_tokens')]

    initial = False

    operations = [
        ops.CreateModel(
            name='NotificationChannel',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('honeydue.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notification_channels', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='WEBHOOK: WEBHOOK\nAPPRISE: APPRISE', enum_type=NotificationChannelKind, max_length=16)),
                ('name', fields.CharField(max_length=100)),
                ('url_sealed', fields.TextField(unique=False)),
                ('secret_sealed', fields.TextField(unique=False)),
                ('url_hint', fields.CharField(max_length=300)),
                ('dead_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('dead_reason', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'notification_channels', 'app': 'honeydue', 'indexes': [Index(fields=['user_id', 'created_at'])], 'pk_attr': 'id'},
            bases=['UUIDModel'],
        ),
        ops.CreateModel(
            name='NotificationDelivery',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('honeydue.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notification_deliveries', on_delete=OnDelete.CASCADE)),
                ('notification', fields.ForeignKeyField('honeydue.Notification', source_field='notification_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='WEBHOOK: WEBHOOK\nAPPRISE: APPRISE\nIOS: IOS\nANDROID: ANDROID\nWEB: WEB', enum_type=DeliveryKind, max_length=16)),
                ('target_id', fields.UUIDField()),
                ('status', fields.CharEnumField(default=DeliveryStatus.QUEUED, description='QUEUED: QUEUED\nSENT: SENT\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('message', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('attempt_log', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'notification_deliveries', 'app': 'honeydue', 'unique_together': (('notification', 'target_id'),), 'indexes': [Index(fields=['status', 'next_attempt_at']), Index(fields=['target_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'One message to one target (a channel or a device), with its attempts and outcome.'},
            bases=['UUIDModel'],
        ),
        ops.AddField(
            model_name='NotificationPreference',
            name='apprise',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='NotificationPreference',
            name='email',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='NotificationPreference',
            name='push',
            field=fields.BooleanField(null=True),
        ),
        ops.AddField(
            model_name='NotificationPreference',
            name='webhook',
            field=fields.BooleanField(null=True),
        ),
    ]
