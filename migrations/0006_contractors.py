from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0005_session_origin')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Contractor',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('residence', fields.ForeignKeyField('honeydue.Residence', source_field='residence_id', db_constraint=True, to_field='id', related_name='contractors', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('company', fields.CharField(default='', max_length=200)),
                ('phone', fields.CharField(default='', max_length=50)),
                ('email', fields.CharField(default='', max_length=254)),
                ('website', fields.CharField(default='', max_length=2000)),
                ('notes', fields.TextField(default='', unique=False)),
                ('favorite', fields.BooleanField(default=False)),
                ('specialties', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('specialty_tags', fields.TextField(default='', unique=False)),
                ('search_text', fields.TextField(default='', unique=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'contractors', 'app': 'honeydue', 'indexes': [Index(fields=['residence_id', 'favorite', 'name'])], 'pk_attr': 'id'},
            bases=['UUIDModel'],
        ),
        ops.AddField(
            model_name='Task',
            name='contractor',
            field=fields.ForeignKeyField('honeydue.Contractor', source_field='contractor_id', null=True, db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='TaskCompletion',
            name='contractor',
            field=fields.ForeignKeyField('honeydue.Contractor', source_field='contractor_id', null=True, db_constraint=True, to_field='id', related_name='completions', on_delete=OnDelete.SET_NULL),
        ),
    ]
