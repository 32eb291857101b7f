# Safety events now belong to trellis.alerts (the safety pathway), whose first migration
# takes over the same table; nothing changes in the database.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('measures', '0002_safety_event_response_by_id'),
        ('alerts', '0001_initial'),
        ('insights', '0005_alerts_move_to_alerts_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='SafetyEvent'),
            ],
            database_operations=[],
        ),
    ]
