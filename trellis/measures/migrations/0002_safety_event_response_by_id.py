# A safety event names its questionnaire response by id instead of a foreign key, so that
# safety events can belong to the alerts app below trellis.measures (see
# docs/architecture.md). The column keeps its name and values; only the constraint goes.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('measures', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='safetyevent',
            name='response',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='measures.questionnaireresponse'),
        ),
    ]
