"""Name search is case- and accent-insensitive over every name group, on
SQLite and PostgreSQL alike, through the patient's normalised search column."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from ris import selectors
from ris.models import AuditEvent, Patient
from ris.names import PersonName, search_words
from ris.records import Actor, PatientData
from ris.services.patients import patient_update
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def patients():
    f.step(patient_id="P1", name="MÜLLER^HANS")
    f.step(patient_id="P2", name="García^José")
    f.step(patient_id="P3", name="Yamada^Tarou")
    f.step(patient_id="P4", name="DOE^JANE")
    groups = PatientData(
        patient_id="P3", name="Yamada^Tarou", name_ideographic="山田^太郎", name_phonetic="やまだ^たろう"
    )
    patient_update(actor=Actor(door=AuditEvent.Door.HL7, name="EHR"), data=groups)  # as an ADT stores them


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("Müller", "P1"),
        ("müller", "P1"),
        ("MULLER", "P1"),
        ("MÜLLER", "P1"),
        ("muller hans", "P1"),
        ("Müller, Hans", "P1"),
        ("jose", "P2"),
        ("JOSÉ garcia", "P2"),
        ("山田", "P3"),
        ("太郎", "P3"),
        ("やまだ", "P3"),
        ("yamada", "P3"),
    ],
)
def test_patient_search_ignores_case_and_accents_over_every_name_group(client, patients, typed, found):
    client.force_login(f.user_with_role("scheduler"))
    page = client.get(reverse("patient_search"), {"name": typed})
    assert [p.patient_id for p in page.context["patients"]] == [found]


def test_order_queue_text_finds_the_patient_without_accents(patients):
    assert [s.requested_procedure.order.patient.patient_id for s in selectors.order_queue(text="muller")] == ["P1"]


def test_punctuation_alone_finds_nobody(patients):
    assert list(selectors.patient_search(name=",")) == []
    assert not selectors.order_queue(text="^").exists()


def test_the_search_column_follows_every_change_of_the_name():
    f.step(patient_id="P1", name="DOE^JANE")
    actor = Actor(door=AuditEvent.Door.HL7, name="EHR")
    patient_update(actor=actor, data=PatientData(patient_id="P1", name="Dupré^Zoë", name_ideographic="山田"))
    patient = Patient.objects.get(patient_id="P1")
    assert patient.search_name == "dupre zoe 山田"
    assert (patient.demographics_source, patient.name) == ("EHR", "Dupré^Zoë")


def test_the_data_migration_fills_the_column_of_existing_rows():
    f.step(patient_id="P1", name="Ørsted^Åse")
    Patient.objects.update(search_name="")
    importlib.import_module("ris.migrations.0007_patient_search_and_owner").fill(apps, None)
    assert Patient.objects.get().search_name == "ørsted ase"


def test_fold_keeps_ideographs_and_drops_combining_marks():
    assert PersonName.from_dicom("Straße^Zoë=山田").search_text() == "strasse zoe 山田"


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("O'Brien-Smith^Mary_Ann", ["o'brien-smith", "mary", "ann"]),  # ' and - stay in a word; _ parts words
        ("MÜLLER_2, hans.", ["muller", "2", "hans"]),  # the same rules when the text is not ASCII
        ("DOE^^JANE", ["doe", "jane"]),
        ("", []),
    ],
)
def test_search_words_split_at_what_is_neither_letter_digit_apostrophe_nor_hyphen(typed, words):
    assert search_words(typed) == words


def test_fhir_patient_search_by_name_ignores_case_and_accents(client, patients):
    client.force_login(f.radiologist())
    bundle = client.get("/fhir/Patient", {"name": "muller"}, HTTP_ACCEPT="application/fhir+json").json()
    assert [e["resource"]["identifier"][0]["value"] for e in bundle["entry"]] == ["P1"]


def test_a_typed_mrn_is_found_as_typed_or_in_capitals(patients):
    assert [p.patient_id for p in selectors.patient_search(mrn=" p1 ")] == ["P1"]
    assert [p.patient_id for p in selectors.patient_candidates(patient_id="p1")] == ["P1"]
