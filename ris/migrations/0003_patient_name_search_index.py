"""An index for case-insensitive Patient's Name matching on PostgreSQL.

Worklist name keys match case-insensitively (RIS_MWL_NAME_IGNORE_CASE):
Django writes `UPPER(name::text) = UPPER(%s)` and `UPPER(name::text) LIKE
UPPER(%s)`, which only an index on the same expression serves, and only with
text_pattern_ops for LIKE in a non-C collation. SQLite has no operator
classes; there the migration does nothing.
"""

from django.db import migrations

INDEX = "ris_patient_name_upper_like"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {INDEX} ON ris_patient (UPPER("name"::text) text_pattern_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("ris", "0002_roles")]
    operations = [migrations.RunPython(create, drop)]
