"""The de-identified research export (PS3.15 Annex E): searched, every file
and every byte, for the source data's names, identifiers, birth dates and
accession numbers; and its pseudonyms and shifted intervals still line up."""

import csv
import datetime as dt
import io
import zipfile
from io import BytesIO

import pytest
from django.utils import timezone
from pydicom import dcmread

from ris.models import AuditEvent
from ris.records import OrderData, PatientData, ProcedureData, StepData
from ris.research import ExportOptions
from ris.services.dose import dose_report_store
from ris.services.orders import order_place
from ris.services.reports import report_save_draft, report_sign
from ris.services.research_export import ExportSelection, research_export
from ris.states import ReportStatus
from tests.factories import TEST_ACTOR, radiologist
from tests.rdsr import ct_rdsr, fluoro_rdsr, part10
from worklist.deidentify import deidentify_dose_sr
from worklist.rdsr import read_dose_report

PATIENTS = [
    # (patient ID, name, birth date, [(accession, placer, exam day)])
    (
        "MRN480017",
        "ZWEIFELHOFER^KLARA^MARIA",
        dt.date(1961, 7, 4),
        [("ACC48001", "PL48001", 3), ("ACC48002", "PL48002", 40)],
    ),
    (
        "MRN480029",
        "OKONKWO-BRANDT^BENEDIKT",
        dt.date(1988, 11, 23),
        [("ACC48011", "PL48011", 10), ("ACC48012", "PL48012", 12)],
    ),
]


def _exam(patient_id, name, birth, accession, placer, day):
    start = timezone.make_aware(dt.datetime(2026, 9, 1, 9, 30)) + dt.timedelta(days=day)
    order = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id=patient_id, issuer="HOSP", name=name, birth_date=birth, sex="F"),
        order=OrderData(
            placer_system="EHR^HOSP",
            placer_number=placer,
            accession_number=accession,
            referring_physician="HIPPOCRATES^ALBAN",
            reason=f"Headache since {birth:%d.%m.%Y}; patient {name.split('^')[0]}",
            procedures=[
                ProcedureData(
                    code_value="CTHEAD",
                    code_meaning="CT head",
                    description=f"CT head {name.split('^')[0]}",
                    steps=[StepData(modality="CT", start=start)],
                )
            ],
        ),
    )
    procedure = order.procedures.get()
    family, given = name.split("^")[:2]
    draft = report_save_draft(
        actor=TEST_ACTOR,
        procedure=procedure,
        author=radiologist(),
        findings=f"{given} {family} (MRN {patient_id}, born {birth.isoformat()}), accession {accession}: no bleed.",
        impression=f"Normal for {family.lower()}, DOB {birth:%d/%m/%Y}.",
    )
    report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=ReportStatus.FINAL)
    when = timezone.localtime(start).strftime("%Y%m%d%H%M%S")
    for ds in (
        ct_rdsr(
            study_uid=procedure.study_instance_uid,
            accession=accession,
            patient_id=patient_id,
            patient_name=name,
            birth_date=birth.strftime("%Y%m%d"),
            when=when,
        ),
        fluoro_rdsr(
            study_uid=procedure.study_instance_uid,
            accession=accession,
            patient_id=patient_id,
            patient_name=name,
            birth_date=birth.strftime("%Y%m%d"),
            when=when,
        ),
    ):
        content = part10(ds)
        dose_report_store(record=read_dose_report(ds), content=content, actor=TEST_ACTOR)
    return procedure, start


@pytest.fixture
def source(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    exams = {}
    for patient_id, name, birth, orders in PATIENTS:
        exams[patient_id] = [_exam(patient_id, name, birth, *o) for o in orders]
    return exams


def _export(**options) -> dict[str, bytes]:
    out = BytesIO()
    research_export(
        selection=ExportSelection(modality="CT"),
        options=ExportOptions(**options),
        actor=TEST_ACTOR,
        out=out,
        clean_dicom=deidentify_dose_sr,
    )
    with zipfile.ZipFile(BytesIO(out.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _phi() -> set[str]:
    values = {"HIPPOCRATES", "ALBAN", "drhouse", "House", "Greg", "St Elsewhere", "TECH^TINA", "CTSCAN1"}
    for patient_id, name, birth, orders in PATIENTS:
        values |= {patient_id, name, *[p for p in name.replace("-", "^").split("^") if p], *name.split("^")}
        values |= {birth.isoformat(), birth.strftime("%Y%m%d"), birth.strftime("%d.%m.%Y"), birth.strftime("%d/%m/%Y")}
        for accession, placer, _day in orders:
            values |= {accession, placer}
    return values


@pytest.mark.parametrize(
    "options",
    [
        {"retain_dates_modified": True, "clean_descriptors": True},
        {"retain_dates_modified": False, "clean_descriptors": False},
    ],
)
def test_no_file_of_the_export_holds_any_name_identifier_birth_date_or_accession(source, options, tmp_path):
    kept = b"".join(p.read_bytes() for p in (tmp_path / "dose").iterdir()).lower()
    assert all(v.lower().encode() in kept for v in ("ZWEIFELHOFER", "MRN480017", "19610704", "ACC48001"))
    files = _export(**options)
    assert {"orders.csv", "reports.csv", "dose.csv", "manifest.json"} <= set(files)
    assert sum(name.endswith(".dcm") for name in files) == 8  # a CT and a fluoroscopy SR per exam
    for phi in _phi():
        needle = phi.lower().encode()
        for name, content in files.items():
            assert needle not in name.lower().encode(), (phi, name)
            assert needle not in content.lower(), (phi, name)
            assert phi.lower().encode("utf-16-le") not in content.lower(), (phi, name)


def _rows(files, name):
    return list(csv.DictReader(io.StringIO(files[name].decode())))


def test_each_patient_has_one_pseudonym_in_every_table_and_dicom_file(source):
    files = _export(retain_dates_modified=True)
    orders = _rows(files, "orders.csv")
    pseudonyms = {row["accession"]: row["patient"] for row in orders}
    by_patient = [{pseudonyms[a] for a in {r["accession"] for r in orders if r["study_uid"]}}]
    assert len(set(pseudonyms.values())) == 2 and len(by_patient[0]) == 2
    for table in ("reports.csv", "dose.csv"):
        for row in _rows(files, table):
            assert pseudonyms[row["accession"]] == row["patient"]
    for name, content in files.items():
        if name.endswith(".dcm"):
            ds = dcmread(BytesIO(content))
            assert ds.PatientID == ds.PatientName == name.split("/")[1]
            assert pseudonyms[ds.AccessionNumber] == ds.PatientID
            assert ds.PatientIdentityRemoved == "YES"
            assert "113100" in [c.CodeValue for c in ds.DeidentificationMethodCodeSequence]
    assert _export(retain_dates_modified=True)["orders.csv"] == files["orders.csv"]  # the same every time


def test_shifted_dates_keep_the_intervals_between_a_patients_exams(source):
    files = _export(retain_dates_modified=True)
    orders = _rows(files, "orders.csv")
    shifted = []
    for rows in _by_patient(orders).values():
        starts = sorted(dt.datetime.fromisoformat(r["started"]) for r in rows)
        days = sorted(int(r["days_from_first_exam"]) for r in rows)
        assert (starts[1] - starts[0]).days == days[1] - days[0]
        shifted.append((starts[1] - starts[0]).days)
    intervals = [(exams[1][1] - exams[0][1]).days for exams in source.values()]
    assert sorted(shifted) == sorted(intervals) == [2, 37]
    original_days = {start.date() for exams in source.values() for _p, start in exams}
    assert not {dt.datetime.fromisoformat(r["started"]).date() for r in orders} & original_days


def _by_patient(rows):
    grouped: dict[str, list] = {}
    for row in rows:
        grouped.setdefault(row["patient"], []).append(row)
    return grouped


def test_the_dicom_dates_move_with_the_tables(source):
    files = _export(retain_dates_modified=True)
    dose_rows = _rows(files, "dose.csv")
    for name, content in files.items():
        if name.endswith(".dcm"):
            ds = dcmread(BytesIO(content))
            performed = {r["performed"][:10].replace("-", "") for r in dose_rows if r["patient"] == ds.PatientID}
            assert ds.ContentDate in performed


def test_without_the_dates_option_no_date_is_left(source):
    files = _export(retain_dates_modified=False)
    assert all(not r["started"] for r in _rows(files, "orders.csv"))
    assert {r["days_from_first_exam"] for r in _rows(files, "orders.csv")} == {"0", "37", "2"}
    for name, content in files.items():
        if name.endswith(".dcm"):
            ds = dcmread(BytesIO(content))
            assert not ds.get("ContentDate") and not ds.get("StudyDate")
            assert ds.LongitudinalTemporalInformationModified == "REMOVED"


def test_the_dose_values_survive_de_identification(source):
    files = _export(retain_dates_modified=True)
    ct = [r for r in _rows(files, "dose.csv") if r["kind"] == "CT"]
    assert {r["ctdivol_mGy"] for r in ct} == {"12.3"}
    cleaned = next(
        c for n, c in files.items() if n.endswith(".dcm") and read_dose_report(dcmread(BytesIO(c))).kind == "CT"
    )
    assert read_dose_report(dcmread(BytesIO(cleaned))).total_dlp == 456.0


def test_who_exported_what_is_audited_per_patient(source):
    _export(retain_dates_modified=True)
    events = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, object_type="research")
    assert events.exclude(patient=None).count() == 2
    assert events.filter(patient=None).get().detail.startswith("research export")


def test_the_command_writes_the_same_export_and_records_the_named_user(source, tmp_path):
    from django.core.management import call_command

    from tests.factories import user_with_role

    user = user_with_role("medical physicist")
    target = tmp_path / "export.zip"
    call_command("research_export", str(target), "--modality", "CT", "--clean-descriptors", "--user", user.username)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        manifest = archive.read("manifest.json").decode()
    assert sum(n.endswith(".dcm") for n in names) == 8 and "113105" in manifest
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, user=user).count() == 3
