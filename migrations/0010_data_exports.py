from tortoise import migrations
from tortoise.migrations import operations as ops
from honeydue.models.enums import DataExportStatus, MediaPurpose, NotificationType
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0009_task_rotation_skip_snooze')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DataExport',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('honeydue.User', source_field='user_id', db_constraint=True, to_field='id', related_name='data_exports', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=DataExportStatus.PENDING, description='PENDING: PENDING\nREADY: READY\nFAILED: FAILED\nEXPIRED: EXPIRED', enum_type=DataExportStatus, max_length=16)),
                ('media', fields.ForeignKeyField('honeydue.Media', source_field='media_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('size_bytes', fields.BigIntField(null=True)),
                ('ready_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('claimed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.SmallIntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'data_exports', 'app': 'honeydue', 'indexes': [Index(fields=['user_id', 'created_at']), Index(fields=['status', 'created_at'])], 'pk_attr': 'id'},
            bases=['UUIDModel'],
        ),
        ops.AlterField(
            model_name='EmailDelivery',
            name='notification_type',
            field=fields.CharEnumField(null=True, description='TASK_DUE_SOON: TASK_DUE_SOON\nTASK_OVERDUE: TASK_OVERDUE\nWARRANTY_EXPIRING: WARRANTY_EXPIRING\nRESIDENCE_SHARED: RESIDENCE_SHARED\nONBOARDING: ONBOARDING\nDATA_EXPORT_READY: DATA_EXPORT_READY', enum_type=NotificationType, max_length=32),
        ),
        ops.AlterField(
            model_name='Media',
            name='purpose',
            field=fields.CharEnumField(description='AVATAR: AVATAR\nCOMPLETION_PHOTO: COMPLETION_PHOTO\nDOCUMENT_FILE: DOCUMENT_FILE\nRESIDENCE_PHOTO: RESIDENCE_PHOTO\nDATA_EXPORT: DATA_EXPORT', enum_type=MediaPurpose, max_length=24),
        ),
        ops.AlterField(
            model_name='Notification',
            name='type',
            field=fields.CharEnumField(description='TASK_DUE_SOON: TASK_DUE_SOON\nTASK_OVERDUE: TASK_OVERDUE\nWARRANTY_EXPIRING: WARRANTY_EXPIRING\nRESIDENCE_SHARED: RESIDENCE_SHARED\nONBOARDING: ONBOARDING\nDATA_EXPORT_READY: DATA_EXPORT_READY', enum_type=NotificationType, max_length=32),
        ),
        ops.AlterField(
            model_name='NotificationPreference',
            name='type',
            field=fields.CharEnumField(description='TASK_DUE_SOON: TASK_DUE_SOON\nTASK_OVERDUE: TASK_OVERDUE\nWARRANTY_EXPIRING: WARRANTY_EXPIRING\nRESIDENCE_SHARED: RESIDENCE_SHARED\nONBOARDING: ONBOARDING\nDATA_EXPORT_READY: DATA_EXPORT_READY', enum_type=NotificationType, max_length=32),
        ),
    ]
