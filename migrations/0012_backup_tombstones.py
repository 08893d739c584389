from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0011_media_purpose_residence_files')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BackupTombstone',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=512)),
                ('missing_since', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'backup_tombstones', 'app': 'honeydue', 'pk_attr': 'key', 'table_description': 'An object the backup holds but the primary bucket no longer does, since ``missing_since``.'},
            bases=['Model'],
        ),
    ]
