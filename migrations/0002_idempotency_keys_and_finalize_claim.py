from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('user', fields.ForeignKeyField('honeydue.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('key', fields.CharField(max_length=64)),
                ('operation', fields.CharField(max_length=32)),
                ('request_hash', fields.CharField(max_length=64)),
                ('result_id', fields.UUIDField()),
            ],
            options={'table': 'idempotency_keys', 'app': 'honeydue', 'unique_together': (('user', 'key'),), 'indexes': [Index(fields=['created_at'])], 'pk_attr': 'id'},
            bases=['UUIDModel'],
        ),
        ops.AddField(
            model_name='Media',
            name='finalize_claim',
            field=fields.UUIDField(null=True),
        ),
    ]
