"""The `varchar_pattern_ops` twin of the message log's `status` index, for
`LIKE 'prefix%'`, dropped: the status is only ever matched whole, and every
message wrote the twin. PostgreSQL only (elsewhere Django makes no twin)."""

from django.db import migrations

TWIN = "hl7_inboundmessage_status_7ab43288_like"


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TWIN}")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {TWIN} ON hl7_inboundmessage (status varchar_pattern_ops)")


class Migration(migrations.Migration):
    dependencies = [("hl7", "0003_configuration_version")]

    operations = [migrations.RunPython(drop, create)]
