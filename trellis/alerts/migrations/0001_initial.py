# Alerts, their rule settings and safety events moved here from trellis.insights and
# trellis.measures. Their tables keep their names, so this only tells Django's model state
# where they live.

import django.db.models.deletion
import trellis.core.fields
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('accounts', '0002_organization_safety_escalation_minutes_and_more'),
        ('care', '0005_care_notes_and_stepped_care'),
        ('insights', '0004_alert_rules'),
        ('measures', '0002_safety_event_response_by_id'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SafetyEvent',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('response_id', models.UUIDField(blank=True, null=True)),
                        ('instrument', models.CharField(max_length=40)),
                        ('item', models.CharField(max_length=40)),
                        ('value', models.SmallIntegerField()),
                        ('rule', models.CharField(help_text='Which safety rule fired.', max_length=80)),
                        ('occurred_at', models.DateTimeField()),
                        ('client_id', models.UUIDField(blank=True, null=True)),
                        ('enrollment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='safety_events', to='care.enrollment')),
                    ],
                    options={
                        'db_table': 'measures_safetyevent',
                        'ordering': ['-occurred_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Alert',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('kind', models.CharField(choices=[('safety', 'Safety'), ('walkthrough', 'Offer a walkthrough'), ('triage', 'Confirm support level'), ('deterioration', 'Reliable deterioration'), ('inactivity', 'No recent activity'), ('missed_session', 'Missed session'), ('unanswered_message', 'Message waiting for a reply'), ('no_improvement', 'No reliable improvement'), ('step_change', 'Change the level of support')], max_length=24)),
                        ('severity', models.CharField(choices=[('urgent', 'Urgent'), ('high', 'High'), ('medium', 'Medium'), ('low', 'Low')], max_length=8)),
                        ('reason', models.CharField(help_text='Why, in plain words.', max_length=300)),
                        ('data', models.JSONField(default=dict, help_text='The facts behind the alert.')),
                        ('state', models.CharField(choices=[('open', 'Open'), ('acknowledged', 'Acknowledged'), ('resolved', 'Resolved'), ('dismissed', 'Dismissed')], default='open', max_length=14)),
                        ('raised_at', models.DateTimeField()),
                        ('condition_since', models.DateTimeField(blank=True, null=True)),
                        ('escalate_after', models.DateTimeField(blank=True, null=True)),
                        ('escalated_at', models.DateTimeField(blank=True, null=True)),
                        ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                        ('action_note', trellis.core.fields.EncryptedTextField(blank=True, default='')),
                        ('closed_at', models.DateTimeField(blank=True, null=True)),
                        ('close_reason', models.CharField(blank=True, max_length=300)),
                        ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('assigned_to', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('closed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('enrollment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='alerts', to='care.enrollment')),
                        ('escalated_to', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='alerts', to='accounts.organization')),
                        ('safety_event', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='alerts', to='alerts.safetyevent')),
                    ],
                    options={
                        'db_table': 'insights_alert',
                        'ordering': ['-raised_at'],
                    },
                ),
                migrations.CreateModel(
                    name='AlertRuleSetting',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('kind', models.CharField(choices=[('safety', 'Safety'), ('walkthrough', 'Offer a walkthrough'), ('triage', 'Confirm support level'), ('deterioration', 'Reliable deterioration'), ('inactivity', 'No recent activity'), ('missed_session', 'Missed session'), ('unanswered_message', 'Message waiting for a reply'), ('no_improvement', 'No reliable improvement'), ('step_change', 'Change the level of support')], max_length=24)),
                        ('support_level', models.CharField(blank=True, choices=[('self_guided', 'Self-guided'), ('coached', 'Coached'), ('therapist_assisted', 'Therapist-assisted')], help_text='Blank: every level of support.', max_length=24)),
                        ('enabled', models.BooleanField(default=True)),
                        ('threshold', models.PositiveSmallIntegerField(blank=True, help_text='Days or weeks, as the rule says; blank: default.', null=True)),
                        ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='alert_rule_settings', to='accounts.organization')),
                    ],
                    options={
                        'db_table': 'insights_alertrulesetting',
                        'constraints': [models.UniqueConstraint(fields=('organization', 'kind', 'support_level'), name='insights_rule_once')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='safetyevent',
                    constraint=models.UniqueConstraint(condition=models.Q(('client_id__isnull', False)), fields=('enrollment', 'client_id', 'rule'), name='measures_safety_once_per_submission'),
                ),
                migrations.AddIndex(
                    model_name='alert',
                    index=models.Index(fields=['organization', 'state', 'severity'], name='insights_alert_inbox'),
                ),
                migrations.AddIndex(
                    model_name='alert',
                    index=models.Index(fields=['state', 'escalate_after'], name='insights_alert_escalate'),
                ),
                migrations.AddIndex(
                    model_name='alert',
                    index=models.Index(fields=['enrollment', 'state'], name='insights_alert_by_enr'),
                ),
                migrations.AddConstraint(
                    model_name='alert',
                    constraint=models.UniqueConstraint(condition=models.Q(('safety_event__isnull', False)), fields=('safety_event',), name='insights_one_alert_per_safety_event'),
                ),
                migrations.AddConstraint(
                    model_name='alert',
                    constraint=models.UniqueConstraint(condition=models.Q(('state__in', ['open', 'acknowledged']), models.Q(('kind', 'safety'), _negated=True)), fields=('enrollment', 'kind'), name='insights_one_live_alert_per_kind'),
                ),
            ],
            database_operations=[],
        ),
    ]
