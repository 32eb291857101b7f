# The engagement event log and the submission registry moved here from trellis.journey.
# Their tables keep their names, so this only tells Django's model state where they live.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('care', '0001_initial'),
        ('journey', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='EngagementEvent',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('occurred_at', models.DateTimeField()),
                        ('type', models.CharField(max_length=40)),
                        ('step_kind', models.CharField(blank=True, max_length=40)),
                        ('step_key', models.CharField(blank=True, max_length=80)),
                        ('duration_s', models.PositiveIntegerField(blank=True, null=True)),
                        ('value', models.CharField(blank=True, max_length=64)),
                        ('enrollment', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='care.enrollment')),
                    ],
                    options={
                        'db_table': 'journey_engagementevent',
                        'ordering': ['id'],
                        'indexes': [models.Index(fields=['enrollment', 'occurred_at'], name='journey_event_by_enr'), models.Index(fields=['type', 'occurred_at'], name='journey_event_by_type')],
                    },
                ),
                migrations.CreateModel(
                    name='Submission',
                    fields=[
                        ('id', models.BigAutoField(primary_key=True, serialize=False)),
                        ('client_id', models.UUIDField()),
                        ('kind', models.CharField(max_length=40)),
                        ('result', models.JSONField(default=dict)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'journey_submission',
                        'constraints': [models.UniqueConstraint(fields=('user', 'client_id'), name='journey_submission_once')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
