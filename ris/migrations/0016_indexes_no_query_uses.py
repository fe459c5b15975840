"""Indexes that no query uses, dropped: every order the HL7 door takes
wrote each of them, and read none.

- The step's `modality` and `station_ae_title`: the worklist asks for them
  with a start time, which `sps_modality_start` and `sps_station_start`
  (the same column first) serve; equality alone too.
- The audit event's `patient`: `audit_patient_at` starts with it (the
  patient's trail, and SET NULL when a patient row goes).
- On PostgreSQL, the `varchar_pattern_ops` twins Django adds for `LIKE
  'prefix%'` where nothing matches by prefix: a Study Instance UID (UI
  takes no wildcard, PS3.4 C.2.2.2.4), the vetting status (matched by
  list), the audit actor (matched ignoring case, `UPPER(...)`), and the
  patient's search column (matched anywhere, by the trigram index).
"""

import django.db.models.deletion
from django.db import migrations, models

# PostgreSQL only: the pattern twins of indexed text columns, by their (deterministic) names.
PATTERN_TWINS = {
    "ris_requestedprocedure_study_instance_uid_fd655635_like": ("ris_requestedprocedure", "study_instance_uid"),
    "ris_imagingorder_vetting_status_ad5ae04e_like": ("ris_imagingorder", "vetting_status"),
    "ris_auditevent_actor_c93746d0_like": ("ris_auditevent", "actor"),
    "ris_patient_search_name_ad7fe36d_like": ("ris_patient", "search_name"),
}


def drop_twins(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in PATTERN_TWINS:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def create_twins(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, (table, column) in PATTERN_TWINS.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column} varchar_pattern_ops)")


class Migration(migrations.Migration):
    dependencies = [
        ("ris", "0015_reconciliation_and_image_availability"),
    ]

    operations = [
        migrations.RunPython(drop_twins, create_twins),
        migrations.AlterField(
            model_name="auditevent",
            name="patient",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="audit_events",
                to="ris.patient",
            ),
        ),
        migrations.AlterField(
            model_name="scheduledprocedurestep",
            name="modality",
            field=models.CharField(max_length=16),
        ),
        migrations.AlterField(
            model_name="scheduledprocedurestep",
            name="station_ae_title",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
    ]
