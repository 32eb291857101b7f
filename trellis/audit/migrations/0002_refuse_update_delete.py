"""On PostgreSQL, the database itself refuses to change or remove an audit event.

A trigger raises an exception on every UPDATE or DELETE of audit_auditevent, so
not even code with full table rights (or a person at a psql prompt) can rewrite
the trail without first dropping the trigger, which needs the table owner.
TRUNCATE is deliberately left possible: test suites empty tables between runs,
and TRUNCATE of the whole trail is as visible as it gets (the chain head no
longer matches). SQLite has no such trigger; `trellis audit verify` detects
edits there.
"""

from django.db import migrations

CREATE = [
    """
CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on audit_auditevent is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
""",
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent",
    """
CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()
""",
]

DROP = [
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent",
    "DROP FUNCTION IF EXISTS audit_event_refuse_change()",
]


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            # params=None: the SQL holds a literal % for RAISE, not a placeholder.
            schema_editor.execute(statement, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
