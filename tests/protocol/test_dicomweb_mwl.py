"""MWL-RS search over real HTTP, by dicomweb-client and raw requests, and
the same query by dcmtk's findscu over DIMSE: one matching implementation."""

import pytest
import requests
from pydicom.dataset import Dataset

from ris.models import AuditEvent
from tests.dicomweb_peers import MWL, worklist_client
from tests.factories import PASSWORD, api_token, user_with_role
from tests.peers import findscu
from tests.worklist_builders import at, schedule

SPS = "ScheduledProcedureStepSequence"


@pytest.fixture
def worklist(transactional_db):
    schedule(
        sps_id="S1",
        patient_id="P1",
        name="DOE^JOHN",
        accession="ACC1",
        station="CT01",
        location="ROOM1",
        start=at("20261126", "0800"),
        performing="HOUSE^GREGORY",
        study_uid="1.2.3.1",
    )
    schedule(
        sps_id="S2",
        patient_id="P2",
        name="DOE^JANE",
        accession="ACC2",
        station="CT02",
        start=at("20261126", "1400"),
        study_uid="1.2.3.2",
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


@pytest.fixture
def token(transactional_db):
    return api_token(user_with_role("technologist"))


def url(live_server) -> str:
    return f"{live_server.url}/dicomweb/{MWL}"


def sps_ids(datasets) -> list[str]:
    return [ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for ds in datasets]


# (query parameters, the same keys for findscu, expected SPS IDs): each matching type of PS3.4 C.2.2.2
MATCHING = [
    pytest.param({"PatientID": "P2"}, ["PatientID=P2"], ["S2"], id="single-value"),
    pytest.param({f"{SPS}.Modality": "MR"}, [f"{SPS}[0].Modality=MR"], ["S3"], id="single-value-in-sequence"),
    pytest.param({"PatientID": "p2"}, ["PatientID=p2"], [], id="single-value-case-sensitive"),
    pytest.param(
        {"StudyInstanceUID": "1.2.3.1\\1.2.3.3"}, ["StudyInstanceUID=1.2.3.1\\1.2.3.3"], ["S1", "S3"], id="uid-list"
    ),
    pytest.param({"PatientName": "DOE*"}, ["PatientName=DOE*"], ["S1", "S2", "S4"], id="wildcard"),
    pytest.param({"AccessionNumber": "ACC?"}, ["AccessionNumber=ACC?"], ["S1", "S2"], id="wildcard-one-character"),
    pytest.param(
        {f"{SPS}.ScheduledProcedureStepStartDate": "20261126-20261127"},
        [f"{SPS}[0].ScheduledProcedureStepStartDate=20261126-20261127"],
        ["S1", "S2", "S3"],
        id="date-range",
    ),
    pytest.param(
        {f"{SPS}.ScheduledProcedureStepStartTime": "0900-1500"},
        [f"{SPS}[0].ScheduledProcedureStepStartTime=0900-1500"],
        ["S2", "S3"],
        id="time-range",
    ),
    pytest.param(
        {
            f"{SPS}.ScheduledStationAETitle": "CT01",
            f"{SPS}.ScheduledProcedureStepStartDate": "20261128",
            "PatientName": "DOE*",
        },
        [
            f"{SPS}[0].ScheduledStationAETitle=CT01",
            f"{SPS}[0].ScheduledProcedureStepStartDate=20261128",
            "PatientName=DOE*",
        ],
        ["S4"],
        id="sequence",
    ),
    pytest.param(
        {"PatientName": "*", "PatientID": ""}, ["PatientName=*", "PatientID="], ["S1", "S2", "S3", "S4"], id="universal"
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize("parameters, keys, expected", MATCHING)
def test_mwl_rs_search_matches_as_the_c_find_does(live_server, dicom, worklist, token, parameters, keys, expected):
    client = worklist_client(live_server.url, token)
    by_dicomweb_client = sps_ids(client.search_for_scheduled_steps(search_filters=parameters))
    raw = requests.get(url(live_server), params=parameters, headers={"Authorization": f"Token {token}"}, timeout=30)
    assert raw.status_code == (200 if expected else 204)
    by_requests = sps_ids(Dataset.from_json(item) for item in (raw.json() if expected else []))
    responses, proc = findscu(dicom, [*keys, f"{SPS}[0].ScheduledProcedureStepID="])
    assert proc.returncode == 0, proc.stderr
    assert by_dicomweb_client == by_requests == sps_ids(responses) == expected


def test_no_match_is_204_no_content(live_server, worklist, token):
    raw = requests.get(
        url(live_server), params={"PatientID": "NOBODY"}, headers={"Authorization": f"Token {token}"}, timeout=30
    )
    assert raw.status_code == 204 and raw.content == b""


def test_answer_is_dicom_json_with_the_worklist_keys(live_server, worklist, token):
    raw = requests.get(
        url(live_server),
        params={"PatientID": "P1"},
        headers={"Authorization": f"Token {token}", "Accept": "application/dicom+json"},
        timeout=30,
    )
    assert raw.status_code == 200
    assert raw.headers["Content-Type"].startswith("application/dicom+json")
    (item,) = raw.json()
    assert item["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "DOE^JOHN"}]}
    assert item["00080050"]["Value"] == ["ACC1"]
    step = item["00400100"]["Value"][0]
    assert step["00400009"]["Value"] == ["S1"] and step["00400011"]["Value"] == ["ROOM1"]
    assert step["00400002"]["Value"] == ["20261126"]


def test_paging_with_limit_and_offset(live_server, worklist, token):
    client = worklist_client(live_server.url, token)
    assert sps_ids(client.search_for_scheduled_steps(limit=2)) == ["S1", "S2"]
    assert sps_ids(client.search_for_scheduled_steps(limit=2, offset=2)) == ["S3", "S4"]
    assert sps_ids(client.search_for_scheduled_steps(limit=1, get_remaining=True)) == ["S1", "S2", "S3", "S4"]


def test_includefield_adds_a_key_and_flags_it_when_not_held(live_server, worklist, token):
    raw = requests.get(
        url(live_server),
        params={"PatientID": "P1", "includefield": "PatientAge"},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert raw.status_code == 200
    (item,) = raw.json()
    assert item["00101010"] == {"vr": "AS"}  # asked, answered zero-length
    assert "unsupported" in raw.headers["Warning"] and "PatientAge" in raw.headers["Warning"]


def test_fuzzy_matching_is_declared_unsupported(live_server, worklist, token):
    client = worklist_client(live_server.url, token)
    assert sps_ids(
        client.search_for_scheduled_steps(search_filters={"PatientName": "DOE^JANE"}, fuzzymatching=True)
    ) == ["S2"]
    raw = requests.get(
        url(live_server),
        params={"PatientName": "DOE^JANE", "fuzzymatching": "true"},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert "fuzzymatching is not supported" in raw.headers["Warning"]
    assert (
        requests.get(f"{live_server.url}/dicomweb/", timeout=30).json()["services"]["MWL-RS"]["fuzzyMatching"] is False
    )


@pytest.mark.parametrize(
    "parameters, reason",
    [
        ({"NoSuchKeyword": "1"}, "not a DICOM attribute"),
        ({"PatientID": "A" * 65}, "PatientID"),
        ({f"{SPS}.ScheduledProcedureStepStartDate": "2026-11-26"}, "not a DICOM date"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_invalid_keys_are_400_with_a_warning(live_server, worklist, token, parameters, reason):
    raw = requests.get(url(live_server), params=parameters, headers={"Authorization": f"Token {token}"}, timeout=30)
    assert raw.status_code == 400
    assert raw.headers["Warning"].startswith("299 ") and reason in raw.headers["Warning"]


def test_too_many_matches_without_a_limit_is_413(live_server, worklist, token, settings):
    settings.RIS_DICOMWEB_MAX_RESULTS = 3
    raw = requests.get(url(live_server), headers={"Authorization": f"Token {token}"}, timeout=30)
    assert raw.status_code == 413 and "limit" in raw.headers["Warning"]
    paged = requests.get(
        url(live_server), params={"limit": "3"}, headers={"Authorization": f"Token {token}"}, timeout=30
    )
    assert paged.status_code == 200 and len(paged.json()) == 3 and "more results" in paged.headers["Warning"]


def test_other_media_types_are_406(live_server, worklist, token):
    for accept in ("text/html", "application/dicom", "application/dicom+json;q=0"):
        raw = requests.get(url(live_server), headers={"Authorization": f"Token {token}", "Accept": accept}, timeout=30)
        assert raw.status_code == 406, accept
    mpps = f"{live_server.url}/dicomweb/modality-performed-procedure-steps/1.2.3"
    xml = requests.get(mpps, headers={"Authorization": f"Token {token}", "Accept": "application/dicom+xml"}, timeout=30)
    assert xml.status_code == 406  # XML is offered for the search only


def test_search_needs_credentials_and_a_role_that_views_patients(live_server, worklist, token):
    assert requests.get(url(live_server), timeout=30).status_code == 401
    assert requests.get(url(live_server), auth=("nobody", "wrong"), timeout=30).status_code == 401
    no_role = api_token(user_with_role(None))
    assert requests.get(url(live_server), headers={"Authorization": f"Token {no_role}"}, timeout=30).status_code == 403


def test_basic_authentication_is_accepted(live_server, worklist):
    user = user_with_role("technologist", username="tech")
    raw = requests.get(url(live_server), params={"PatientID": "P3"}, auth=(user.username, PASSWORD), timeout=30)
    assert raw.status_code == 200 and sps_ids(Dataset.from_json(i) for i in raw.json()) == ["S3"]


def test_a_search_is_audited_with_the_patients_shown(live_server, worklist, token):
    from ris.models import Patient

    requests.get(
        url(live_server), params={"PatientName": "DOE^J*"}, headers={"Authorization": f"Token {token}"}, timeout=30
    )
    event = AuditEvent.objects.filter(object_type="worklist", door=AuditEvent.Door.DICOM).latest("pk")
    shown = ",".join(str(Patient.objects.get(patient_id=p).pk) for p in ("P1", "P2", "P4"))
    assert event.detail.startswith(f"MWL-RS search 200: 3 item(s): patients {shown}")
    assert event.user is not None and event.user.username.startswith("technologist")
