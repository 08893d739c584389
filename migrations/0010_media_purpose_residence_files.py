from tortoise import migrations
from tortoise.migrations import operations as ops
from honeydue.models.enums import MediaPurpose
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0009_task_rotation_skip_snooze')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Media',
            name='purpose',
            field=fields.CharEnumField(description='AVATAR: AVATAR\nCOMPLETION_PHOTO: COMPLETION_PHOTO\nDOCUMENT_FILE: DOCUMENT_FILE\nRESIDENCE_PHOTO: RESIDENCE_PHOTO\nRESIDENCE_IMPORT: RESIDENCE_IMPORT\nRESIDENCE_EXPORT: RESIDENCE_EXPORT', enum_type=MediaPurpose, max_length=24),
        ),
    ]
