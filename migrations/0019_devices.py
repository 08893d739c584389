from tortoise import migrations
from tortoise.migrations import operations as ops
from honeydue.models.enums import DevicePlatform
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0018_notification_channels_deliveries')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Device',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('honeydue.User', source_field='user_id', db_constraint=True, to_field='id', related_name='devices', on_delete=OnDelete.CASCADE)),
                ('platform', fields.CharEnumField(description='IOS: IOS\nANDROID: ANDROID\nWEB: WEB', enum_type=DevicePlatform, max_length=16)),
                ('token', fields.TextField(unique=False)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('web_push_endpoint', fields.CharField(null=True, max_length=2048)),
                ('web_push_p256dh', fields.CharField(null=True, max_length=128)),
                ('web_push_auth', fields.CharField(null=True, max_length=64)),
                ('app_version', fields.CharField(null=True, max_length=64)),
                ('locale', fields.CharField(null=True, max_length=35)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('dead_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('dead_reason', fields.CharField(null=True, max_length=255)),
            ],
            options={'table': 'devices', 'app': 'honeydue', 'indexes': [Index(fields=['user_id', 'dead_at'])], 'pk_attr': 'id'},
            bases=['UUIDModel'],
        ),
    ]
