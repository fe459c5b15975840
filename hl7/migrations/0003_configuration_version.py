"""The version of what the one-statement path reads once per MLLP connection.

`hl7/fast_intake.py` reads a sender's rules (senders, their station rules
and the AE titles those name) and the destinations told of procedures (the
Image Managers) once per connection, and each statement checks that none of it
changed since. It used to compare a digest of those tables, recomputed in
every statement; here a trigger on each of them records the transaction
that last changed them in a one-row table, and the statement compares that
one value. A transaction id is never given twice, so the value never comes
back, whatever is deleted or truncated.

PostgreSQL only: elsewhere the one-statement path does not run.
"""

from django.db import migrations

TABLE = "hl7_configuration_version"
FUNCTION = "hl7_configuration_changed"
# The tables, and the columns of each that the cached configuration holds (all when None).
WATCHED = {
    "hl7_hl7sender": None,
    "hl7_senderstationrule": None,
    "ris_station": ("ae_title",),
    "ris_destination": ("enabled", "role", "events", "kind"),  # which are told of procedures
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE TABLE {TABLE} (id smallint PRIMARY KEY CHECK (id = 1), changed_by xid8 NOT NULL)")
    schema_editor.execute(f"INSERT INTO {TABLE} (id, changed_by) VALUES (1, pg_current_xact_id())")
    schema_editor.execute(
        f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" INSERT INTO {TABLE} (id, changed_by) VALUES (1, pg_current_xact_id())"
        " ON CONFLICT (id) DO UPDATE SET changed_by = EXCLUDED.changed_by;"
        " RETURN NULL; END $$"
    )
    for table, columns in WATCHED.items():
        update = f"UPDATE OF {', '.join(columns)}" if columns else "UPDATE"
        schema_editor.execute(
            f"CREATE TRIGGER {FUNCTION} AFTER INSERT OR DELETE OR TRUNCATE OR {update} ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in WATCHED:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {FUNCTION} ON {table}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("hl7", "0002_sender_may_merge_patients"),
        ("ris", "0015_reconciliation_and_image_availability"),
    ]

    operations = [migrations.RunPython(create, drop)]
