"""On PostgreSQL, the database refuses to empty the audit trail or remove its chain head.

A statement trigger raises on TRUNCATE of audit_auditevent and of audit_auditchainhead,
and a row trigger on DELETE of the chain head (which is only ever inserted once and then
updated). A superuser is let through: a superuser can drop any trigger anyway, and the
test suites, which run as one, empty every table between tests with TRUNCATE. The
application must therefore not connect as a superuser, nor as the tables' owner (who can
disable triggers); docs/audit.md says how to set the roles up. SQLite has no TRUNCATE.
"""

from django.db import migrations

CREATE = [
    """
CREATE OR REPLACE FUNCTION audit_refuse_removal() RETURNS trigger AS $$
BEGIN
    IF current_setting('is_superuser') = 'on' THEN
        IF TG_LEVEL = 'ROW' THEN
            RETURN OLD;
        END IF;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
""",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent",
    """
CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_removal()
""",
    "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_auditchainhead",
    """
CREATE TRIGGER audit_head_no_truncate
    BEFORE TRUNCATE ON audit_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_removal()
""",
    "DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_auditchainhead",
    """
CREATE TRIGGER audit_head_no_delete
    BEFORE DELETE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_removal()
""",
]

DROP = [
    "DROP TRIGGER IF EXISTS audit_head_no_delete ON audit_auditchainhead",
    "DROP TRIGGER IF EXISTS audit_head_no_truncate ON audit_auditchainhead",
    "DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent",
    "DROP FUNCTION IF EXISTS audit_refuse_removal()",
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


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_event_key_id")]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]
