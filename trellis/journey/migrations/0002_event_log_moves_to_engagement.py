# The engagement event log and the submission registry now belong to trellis.engagement
# (whose first migration takes over the same tables); nothing changes in the database.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('journey', '0001_initial'),
        ('engagement', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='EngagementEvent'),
                migrations.DeleteModel(name='Submission'),
            ],
            database_operations=[],
        ),
    ]
