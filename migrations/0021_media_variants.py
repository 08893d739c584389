from tortoise import migrations
from tortoise.migrations import operations as ops
from honeydue.models.enums import MediaVariantKind, VariantsStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0020_admin_console')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MediaVariant',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('media', fields.ForeignKeyField('honeydue.Media', source_field='media_id', db_constraint=True, to_field='id', related_name='variants', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='THUMB: THUMB\nPREVIEW: PREVIEW', enum_type=MediaVariantKind, max_length=16)),
                ('key', fields.CharField(unique=True, max_length=512)),
                ('content_type', fields.CharField(max_length=100)),
                ('width', fields.IntField()),
                ('height', fields.IntField()),
                ('size', fields.BigIntField()),
                ('etag', fields.CharField(null=True, max_length=100)),
            ],
            options={'table': 'media_variants', 'app': 'honeydue', 'unique_together': (('media', 'kind'),), 'pk_attr': 'id', 'table_description': 'A smaller WebP rendition of a READY media, stored next to it (``honeydue.media_variants.keys``).'},
            bases=['UUIDModel'],
        ),
        ops.AddField(
            model_name='Media',
            name='height',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Media',
            name='placeholder',
            field=fields.CharField(null=True, max_length=100),
        ),
        ops.AddField(
            model_name='Media',
            name='variants_attempts',
            field=fields.SmallIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='Media',
            name='variants_error',
            field=fields.CharField(null=True, max_length=255),
        ),
        ops.AddField(
            model_name='Media',
            name='variants_status',
            field=fields.CharEnumField(null=True, description='PENDING: PENDING\nREADY: READY\nFAILED: FAILED\nNONE: NONE', enum_type=VariantsStatus, max_length=16),
        ),
        ops.AddField(
            model_name='Media',
            name='width',
            field=fields.IntField(null=True),
        ),
    ]
