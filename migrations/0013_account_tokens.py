from tortoise import migrations
from tortoise.migrations import operations as ops
from honeydue.models.enums import AccountTokenPurpose
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0012_backup_tombstones'), ('honeydue', '0012_media_purpose_residence_report')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountToken',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('honeydue.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='RESET: RESET\nVERIFY: VERIFY\nEMAIL_CHANGE: EMAIL_CHANGE', enum_type=AccountTokenPurpose, max_length=16)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('new_email', fields.CharField(null=True, max_length=254)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account_tokens', 'app': 'honeydue', 'indexes': [Index(fields=['user_id', 'purpose'])], 'pk_attr': 'id'},
            bases=['UUIDModel'],
        ),
    ]
