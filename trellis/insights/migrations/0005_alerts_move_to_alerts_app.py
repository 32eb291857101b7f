# Alerts and their rule settings now belong to trellis.alerts, whose first migration takes
# over the same tables; nothing changes in the database.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('insights', '0004_alert_rules'),
        ('alerts', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='Alert'),
                migrations.DeleteModel(name='AlertRuleSetting'),
            ],
            database_operations=[],
        ),
    ]
