"""The patient's search column (every name group, casefolded, without
accents) and who owns its demographics, filled for the rows already there.

A patient with an order from an HL7 placer system is taken to be owned by
that system (the EHR); patients with only manual orders are the RIS's own.

Name search is "every typed word is in the column" (LIKE '%word%'), which a
B-tree cannot serve. On PostgreSQL with the pg_trgm extension available (a
trusted extension since PostgreSQL 13: the database owner may create it), a
trigram GIN index serves it; without it the search scans the column (about
40 ms per 100,000 patients), and nothing else changes.
"""

import logging

from django.db import DatabaseError, migrations, models, transaction

from ris.names import PersonName

BATCH = 2000


def fill(apps, schema_editor):
    Patient = apps.get_model("ris", "Patient")
    ImagingOrder = apps.get_model("ris", "ImagingOrder")
    rows = Patient.objects.order_by("pk").only("pk", "name", "name_ideographic", "name_phonetic")
    last = 0
    while batch := list(rows.filter(pk__gt=last)[:BATCH]):
        for row in batch:
            row.search_name = PersonName.from_groups(row.name, row.name_ideographic, row.name_phonetic).search_text()
        Patient.objects.bulk_update(batch, ["search_name"])
        last = batch[-1].pk
    sources = ImagingOrder.objects.exclude(placer_system__in=["", "UI"]).values_list("patient_id", "placer_system")
    for patient_id, placer_system in sources.order_by("pk").iterator():
        Patient.objects.filter(pk=patient_id, demographics_source="").update(demographics_source=placer_system[:180])


TRIGRAM_INDEX = "ris_patient_search_name_trgm"


def trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):  # a savepoint: refused is not fatal
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON ris_patient USING gin (search_name gin_trgm_ops)"
            )
    except DatabaseError as refused:
        logging.getLogger(__name__).warning("no trigram index for name search (%s); searches scan", refused)


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("ris", "0006_destination_ordering")]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="demographics_source",
            field=models.CharField(blank=True, default="", max_length=180),
        ),
        migrations.AddField(
            model_name="patient",
            name="search_name",
            field=models.CharField(blank=True, db_index=True, default="", editable=False, max_length=1000),
        ),
        migrations.AlterField(
            model_name="patient",
            name="birth_date",
            field=models.DateField(blank=True, db_index=True, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(trigram_index, drop_trigram_index),
    ]
