"""Every matching type of PS3.4 C.2.2.2, asked by findscu -W and by pynetdicom."""

import pytest

from tests.peers import findscu
from tests.worklist_builders import at, schedule
from tests.worklist_peers import identifiers, mwl_find, mwl_identifier

pytestmark = pytest.mark.slow

SPS = "ScheduledProcedureStepSequence[0]"


def found(port: int, top: dict | None = None, step: dict | None = None) -> list[str]:
    """SPS IDs matched, the same for both clients (asserted), in answer order."""
    step = {"ScheduledProcedureStepID": "", **(step or {})}
    by_pynetdicom = [
        ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID
        for ds in identifiers(mwl_find(port, mwl_identifier(top, step)))
    ]
    keys = [f"{k}={v}" for k, v in (top or {}).items()] + [f"{SPS}.{k}={v}" for k, v in step.items()]
    responses, proc = findscu(port, keys)
    assert proc.returncode == 0, proc.stderr
    by_findscu = [ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for ds in responses]
    assert by_findscu == by_pynetdicom
    return by_pynetdicom


@pytest.fixture
def worklist(transactional_db):
    schedule(
        sps_id="S1",
        patient_id="P1",
        name="DOE^JOHN",
        accession="ACC1",
        rp_id="RP1",
        station="CT01",
        station_name="CTNAME",
        location="ROOM1",
        start=at("20261126", "0800"),
        referring="WHO^DOCTOR",
        performing="HOUSE^GREGORY",
        study_uid="1.2.3.1",
    )
    schedule(
        sps_id="S2",
        patient_id="P2",
        name="DOE^JANE",
        accession="ACC2",
        rp_id="RP2",
        station="CT02",
        start=at("20261126", "1400"),
        study_uid="1.2.3.2",
        referring="WHO^DOCTOR=誰^医者",
    )
    schedule(
        sps_id="S3",
        patient_id="P3",
        name="SMITH^ANNA",
        accession="BCC3",
        modality="MR",
        station="MR01",
        start=at("20261127", "0930"),
        study_uid="1.2.3.3",
    )
    schedule(sps_id="S4", patient_id="P4", name="DOE^JOHNNY", station="CT01", start=at("20261128", "1700"))


@pytest.mark.parametrize(
    "top, step, expected",
    [
        ({}, {"ScheduledStationAETitle": "CT01"}, ["S1", "S4"]),
        ({}, {"Modality": "MR"}, ["S3"]),
        ({"PatientID": "P2"}, {}, ["S2"]),
        ({"AccessionNumber": "ACC1"}, {}, ["S1"]),
        ({"RequestedProcedureID": "RP2"}, {}, ["S2"]),
        ({}, {"ScheduledProcedureStepID": "S3"}, ["S3"]),
        ({}, {"ScheduledStationName": "CTNAME"}, ["S1"]),
        ({}, {"ScheduledProcedureStepLocation": "ROOM1"}, ["S1"]),
        ({}, {"ScheduledProcedureStepStatus": "SCHEDULED"}, ["S1", "S2", "S3", "S4"]),
        ({"PatientName": "DOE^JOHN"}, {}, ["S1"]),
        ({"PatientID": "p2"}, {}, []),  # single values of LO are case-sensitive
    ],
)
def test_single_value_matching(dicom, worklist, top, step, expected):
    assert found(dicom, top, step) == expected


@pytest.mark.parametrize(
    "top, step, expected",
    [
        ({"PatientName": "DOE*"}, {}, ["S1", "S2", "S4"]),
        ({"PatientName": "D?E^J*Y"}, {}, ["S4"]),
        ({"PatientName": "*ANNA"}, {}, ["S3"]),
        ({"AccessionNumber": "ACC?"}, {}, ["S1", "S2"]),
        ({}, {"ScheduledStationAETitle": "CT*"}, ["S1", "S2", "S4"]),
        ({}, {"ScheduledPerformingPhysicianName": "HOUSE*"}, ["S1"]),
        ({"ReferringPhysicianName": "WHO^DOC*"}, {}, ["S1", "S2"]),
        ({"ReferringPhysicianName": "WHO^DOCTOR"}, {}, ["S1", "S2"]),  # alphabetic group of a 2-group name
    ],
)
def test_wildcard_matching(dicom, worklist, top, step, expected):
    assert found(dicom, top, step) == expected


def test_person_names_match_case_insensitively_by_default(dicom, worklist):
    assert found(dicom, {"PatientName": "doe^jane"}) == ["S2"]
    assert found(dicom, {"PatientName": "smi*"}) == ["S3"]


def test_person_names_match_case_sensitively_when_configured(dicom, worklist, settings):
    settings.RIS_MWL_NAME_IGNORE_CASE = False
    assert found(dicom, {"PatientName": "doe*"}) == []
    assert found(dicom, {"PatientName": "DOE^JANE"}) == ["S2"]


def test_empty_stored_value_never_matches_a_non_empty_key(dicom, worklist):
    # only S1 has a station name and a location
    assert found(dicom, step={"ScheduledStationName": "*N*"}) == ["S1"]
    assert found(dicom, step={"ScheduledStationName": "?*"}) == ["S1"]
    assert found(dicom, step={"ScheduledProcedureStepLocation": "*"}) == ["S1", "S2", "S3", "S4"]


def test_lone_star_and_zero_length_are_universal(dicom, worklist):
    assert found(dicom, {"PatientName": "*", "PatientID": ""}, {"Modality": ""}) == ["S1", "S2", "S3", "S4"]


def test_list_of_uid_matching(dicom, worklist):
    assert found(dicom, {"StudyInstanceUID": "1.2.3.1\\1.2.3.3"}) == ["S1", "S3"]


@pytest.mark.parametrize(
    "date, expected",
    [
        ("20261126", ["S1", "S2"]),
        ("20261126-20261127", ["S1", "S2", "S3"]),
        ("20261127-", ["S3", "S4"]),
        ("-20261126", ["S1", "S2"]),
    ],
)
def test_date_matching(dicom, worklist, date, expected):
    assert found(dicom, step={"ScheduledProcedureStepStartDate": date}) == expected


@pytest.mark.parametrize(
    "date, time, expected",
    [
        ("", "0900-1500", ["S2", "S3"]),  # a time range without a date: any day
        ("", "1700", ["S4"]),
        ("20261126", "1200-", ["S2"]),
        ("20261126-20261128", "0800", ["S1"]),  # a date range with a single time: each on its own
        ("20261126-20261128", "1000-1600", ["S2", "S3"]),  # both ranges: one period, S3 at 09:30 inside it
        ("20261126-20261127", "1000-", ["S2", "S3"]),
    ],
)
def test_date_and_time_matching(dicom, worklist, date, time, expected):
    step = {"ScheduledProcedureStepStartDate": date, "ScheduledProcedureStepStartTime": time}
    assert found(dicom, step=step) == expected


def test_sequence_matching_combines_the_keys_of_the_one_item(dicom, worklist):
    step = {"ScheduledStationAETitle": "CT01", "ScheduledProcedureStepStartDate": "20261128", "Modality": "CT"}
    assert found(dicom, {"PatientName": "DOE*"}, step) == ["S4"]


def test_date_and_time_match_in_the_site_time_zone(dicom, transactional_db, site_zone):
    schedule(sps_id="B1", start=at("20261126", "2330", zone="Europe/Berlin"))  # 22:30 UTC
    step = {"ScheduledProcedureStepStartDate": "20261126", "ScheduledProcedureStepStartTime": "2300-2359"}
    assert found(dicom, step=step) == ["B1"]
