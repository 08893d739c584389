from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0002_idempotency_keys_and_finalize_claim')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MemberRemoval',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('residence', fields.ForeignKeyField('honeydue.Residence', source_field='residence_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('honeydue.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('removed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'member_removals', 'app': 'honeydue', 'unique_together': (('residence', 'user'),), 'pk_attr': 'id'},
            bases=['UUIDModel'],
        ),
    ]
