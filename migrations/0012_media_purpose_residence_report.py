from tortoise import migrations
from tortoise.migrations import operations as ops
from honeydue.models.enums import MediaPurpose
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0011_media_purpose_residence_files')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Media',
            name='purpose',
            field=fields.CharEnumField(description='AVATAR: AVATAR\nCOMPLETION_PHOTO: COMPLETION_PHOTO\nDOCUMENT_FILE: DOCUMENT_FILE\nRESIDENCE_PHOTO: RESIDENCE_PHOTO\nDATA_EXPORT: DATA_EXPORT\nRESIDENCE_IMPORT: RESIDENCE_IMPORT\nRESIDENCE_EXPORT: RESIDENCE_EXPORT\nRESIDENCE_REPORT: RESIDENCE_REPORT', enum_type=MediaPurpose, max_length=24),
        ),
    ]
