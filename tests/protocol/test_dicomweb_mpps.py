"""MPPS-RS over real HTTP (raw requests with DICOM JSON made by pydicom),
with the DIMSE side (findscu, pynetdicom's MPPS SCU) seeing the same instance."""

import json

import pytest
import requests
from pydicom.uid import generate_uid

from ris.models import AuditEvent, ImagingOrder, PerformedProcedureStep, ScheduledProcedureStep
from ris.records import OrderData, PatientData, ProcedureData, StepData
from ris.services.orders import order_place
from tests.factories import TEST_ACTOR, api_token, user_with_role
from tests.mpps_scu import MppsScu, final, in_progress, scheduled_item
from tests.peers import findscu

STUDY_UID = "1.2.826.0.1.3680043.8.498.6001"
SPS = "ScheduledProcedureStepSequence"
MEDIA = "application/dicom+json"


@pytest.fixture
def order(transactional_db) -> ImagingOrder:
    step = StepData(sps_id="SPS6001", modality="CT", station_ae_title="CT01")
    return order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id="PAT6001", name="DOE^JANE"),
        order=OrderData(
            placer_number="PL6001",
            accession_number="ACC6001",
            procedures=[ProcedureData(requested_procedure_id="RP6001", study_instance_uid=STUDY_UID, steps=[step])],
        ),
    )


@pytest.fixture
def token(transactional_db):
    return api_token(user_with_role("technologist"))


def _item():
    return scheduled_item(STUDY_UID, "ACC6001", "RP6001", "SPS6001")


def base(live_server) -> str:
    return f"{live_server.url}/dicomweb/modality-performed-procedure-steps"


def send(method, address, token, dataset=None, body=None):
    data = json.dumps(dataset.to_json_dict()) if dataset is not None else body
    headers = {"Authorization": f"Token {token}", "Content-Type": MEDIA, "Accept": MEDIA}
    return requests.request(method, address, data=data, headers=headers, timeout=30)


def create(live_server, token, uid=None, **changes):
    ds = in_progress([_item()])
    if uid:
        ds.SOPInstanceUID = uid
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    return send("POST", base(live_server), token, ds)


def step_status() -> str:
    return ScheduledProcedureStep.objects.get(sps_id="SPS6001").status


def test_create_starts_the_step_and_answers_201_with_its_location(live_server, order, token):
    uid = generate_uid()
    answer = create(live_server, token, uid)
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"].endswith(f"/modality-performed-procedure-steps/{uid}")
    assert answer.json()["00400252"]["Value"] == ["IN PROGRESS"]
    pps = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert [step.sps_id for step in pps.steps.all()] == ["SPS6001"] and step_status() == "STARTED"
    order.refresh_from_db()
    assert order.status == "IN_PROGRESS"


def test_create_without_a_uid_gets_one_assigned(live_server, order, token):
    answer = create(live_server, token)
    assert answer.status_code == 201
    uid = answer.json()["00080018"]["Value"][0]
    assert PerformedProcedureStep.objects.filter(sop_instance_uid=uid).exists()


def test_update_to_completed_then_refused_409_for_the_final_instance(live_server, order, token):
    uid = generate_uid()
    create(live_server, token, uid)
    done = send("POST", f"{base(live_server)}/{uid}", token, final())
    assert done.status_code == 200, done.text
    assert done.json()["00400252"]["Value"] == ["COMPLETED"]
    assert step_status() == "COMPLETED"
    again = send(
        "PUT", f"{base(live_server)}/{uid}", token, final("DISCONTINUED", PerformedProcedureStepDescription="x")
    )
    assert again.status_code == 409
    assert again.json()["dimseStatus"] == "0110" and "Warning" in again.headers
    assert PerformedProcedureStep.objects.get(sop_instance_uid=uid).status == "COMPLETED"


def test_discontinued_over_put(live_server, order, token):
    uid = generate_uid()
    create(live_server, token, uid)
    answer = send("PUT", f"{base(live_server)}/{uid}", token, final("DISCONTINUED", reason="110514"))
    assert answer.status_code == 200, answer.text
    assert PerformedProcedureStep.objects.get(sop_instance_uid=uid).status == "DISCONTINUED"


def test_retrieve_answers_the_instance_and_audits_the_patient(live_server, order, token):
    uid = generate_uid()
    create(live_server, token, uid)
    got = requests.get(f"{base(live_server)}/{uid}", headers={"Authorization": f"Token {token}"}, timeout=30)
    assert got.status_code == 200
    assert got.json()["00400253"]["Value"] == ["PPS1"] and got.json()["00080018"]["Value"] == [uid]
    event = AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, object_type__icontains="performed").latest("pk")
    assert event.patient is not None and event.patient.patient_id == "PAT6001"
    missing = requests.get(f"{base(live_server)}/1.2.3.999", headers={"Authorization": f"Token {token}"}, timeout=30)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "changes, status, attribute",
    [
        ({"PerformedProcedureStepStatus": "COMPLETED"}, 400, "00400252"),  # a create must be IN PROGRESS
        ({"PerformedProcedureStepID": ""}, 400, "00400253"),  # type 1 value missing
    ],
)
def test_create_refusals_are_400_naming_the_attribute(live_server, order, token, changes, status, attribute):
    answer = create(live_server, token, **changes)
    assert answer.status_code == status, answer.text
    assert attribute in answer.json()["attributes"] and answer.headers["Warning"].startswith("299 ")
    assert not PerformedProcedureStep.objects.exists() and step_status() == "SCHEDULED"


def test_create_of_an_existing_instance_is_409(live_server, order, token):
    uid = generate_uid()
    assert create(live_server, token, uid).status_code == 201
    assert create(live_server, token, uid).status_code == 409


def test_update_of_an_unknown_instance_is_404(live_server, order, token):
    assert send("POST", f"{base(live_server)}/1.2.3.404", token, final()).status_code == 404


def test_a_body_that_is_not_dicom_json_is_400_and_another_media_type_415(live_server, order, token):
    assert send("POST", base(live_server), token, body=b'{"nonsense": 1}').status_code == 400
    assert send("POST", base(live_server), token, body=b"not json").status_code == 400
    other = requests.post(
        base(live_server),
        data=b"<x/>",
        headers={"Authorization": f"Token {token}", "Content-Type": "application/xml"},
        timeout=30,
    )
    assert other.status_code == 415


def test_a_role_without_change_step_status_may_not_create(live_server, order):
    radiologist = api_token(user_with_role("radiologist"))
    assert create(live_server, radiologist).status_code == 403


@pytest.mark.slow
def test_a_step_started_over_mpps_rs_leaves_the_dimse_worklist_and_n_set_completes_it(live_server, dicom, order, token):
    def open_steps():
        responses, proc = findscu(dicom, [f"{SPS}[0].ScheduledProcedureStepID="])
        assert proc.returncode == 0, proc.stderr
        return [ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for ds in responses]

    assert open_steps() == ["SPS6001"]
    uid = generate_uid()
    assert create(live_server, token, uid).status_code == 201
    assert open_steps() == []  # started over HTTP: off the DIMSE worklist
    with MppsScu(dicom, calling_ae="CT01") as scu:  # the station the instance names
        status, _ = scu.set(uid, final())
    assert status.Status == 0x0000
    got = requests.get(f"{base(live_server)}/{uid}", headers={"Authorization": f"Token {token}"}, timeout=30)
    assert got.json()["00400252"]["Value"] == ["COMPLETED"] and step_status() == "COMPLETED"


@pytest.mark.slow
def test_a_step_started_over_dimse_is_completed_over_mpps_rs(live_server, dicom, order, token):
    uid = generate_uid()
    with MppsScu(dicom) as scu:
        assert scu.create(in_progress([_item()]), uid)[0].Status == 0x0000
    assert step_status() == "STARTED"
    assert send("POST", f"{base(live_server)}/{uid}", token, final()).status_code == 200
    assert step_status() == "COMPLETED"
    mwl = requests.get(
        f"{live_server.url}/dicomweb/modality-scheduled-procedure-steps",
        params={f"{SPS}.ScheduledProcedureStepStatus": "COMPLETED"},
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert [item["00400100"]["Value"][0]["00400009"]["Value"] for item in mwl.json()] == [["SPS6001"]]
