"""The sealer: events are sealed on their own as they are written and queued; the sealer
links them into the chain after they commit (trellis.audit.sealer).

Events already written stay as they were chained; the head learns its position (how many
events the chain holds) so the sealer's links carry on from them. On PostgreSQL the links
are refused UPDATE and DELETE like the events, and TRUNCATE except to a superuser (the
function of 0004). The queue (AuditPending) is emptied by the sealer, so it has no trigger.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models

CREATE = [
    """
CREATE OR REPLACE FUNCTION audit_link_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit chain links are append-only: % on audit_auditlink is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
""",
    "DROP TRIGGER IF EXISTS audit_link_append_only ON audit_auditlink",
    """
CREATE TRIGGER audit_link_append_only
    BEFORE UPDATE OR DELETE ON audit_auditlink
    FOR EACH ROW EXECUTE FUNCTION audit_link_refuse_change()
""",
    "DROP TRIGGER IF EXISTS audit_link_no_truncate ON audit_auditlink",
    """
CREATE TRIGGER audit_link_no_truncate
    BEFORE TRUNCATE ON audit_auditlink
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_removal()
""",
]
DROP = [
    "DROP TRIGGER IF EXISTS audit_link_no_truncate ON audit_auditlink",
    "DROP TRIGGER IF EXISTS audit_link_append_only ON audit_auditlink",
    "DROP FUNCTION IF EXISTS audit_link_refuse_change()",
]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            # params=None: the SQL holds a literal % for RAISE, not a placeholder.
            schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


def count_chained_events(apps, schema_editor):
    """Every event written so far was chained as it was written."""
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChainHead.objects.filter(pk=1).update(last_position=AuditEvent.objects.count())


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_refuse_truncate"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditPending",
            fields=[
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="pending",
                        serialize=False,
                        to="audit.auditevent",
                    ),
                ),
                (
                    "queued_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
        ),
        migrations.AddField(
            model_name="auditchainhead",
            name="last_position",
            field=models.BigIntegerField(default=0),
        ),
        migrations.CreateModel(
            name="AuditLink",
            fields=[
                ("position", models.BigIntegerField(primary_key=True, serialize=False)),
                ("prev_mac", models.CharField(max_length=64)),
                ("mac", models.CharField(max_length=64)),
                ("key_id", models.CharField(max_length=32)),
                ("sealed_at", models.DateTimeField()),
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="link",
                        to="audit.auditevent",
                    ),
                ),
            ],
            options={
                "ordering": ["position"],
            },
        ),
        migrations.RunPython(count_chained_events, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
