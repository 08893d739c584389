from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('honeydue', '0004_residence_profile_templates')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AuthToken',
            name='ip_address',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='AuthToken',
            name='user_agent',
            field=fields.CharField(null=True, max_length=255),
        ),
    ]
