"""UPS-RS over real HTTP, with the event channel delivering each event to a
subscribed WebSocket client (the `websockets` library on a real socket) and
the DIMSE worklist (findscu) seeing the same steps."""

import asyncio
import json
import threading
import time

import pytest
import requests
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ris.models import ScheduledProcedureStep
from ris.states import VettingStatus
from tests.dicomweb_peers import run_apart
from tests.factories import api_token, user_with_role
from tests.peers import findscu
from tests.worklist_builders import at, schedule
from worklist.dicomweb import events
from worklist.dicomweb.ups import GLOBAL_SUBSCRIPTION

MEDIA = "application/dicom+json"
SPS = "ScheduledProcedureStepSequence"
STATE, CANCEL_REQUESTED, PROGRESS, SCP_STATUS, ASSIGNED = 1, 2, 3, 4, 5


@pytest.fixture
def steps(transactional_db):
    schedule(sps_id="U1", patient_id="P1", name="DOE^JOHN", station="AI01", modality="CT", start=at("20261126", "0800"))
    schedule(sps_id="U2", patient_id="P2", name="ROE^JANE", station="AI01", modality="CT", start=at("20261126", "0900"))


@pytest.fixture
def token(transactional_db):
    return api_token(user_with_role("technologist"))


@pytest.fixture
def channel(transactional_db, settings):
    settings.RIS_DICOMWEB_EVENTS_POLL_SECONDS = 0.05
    server = events.EventChannel("127.0.0.1", 0).start()
    yield server
    server.shutdown()


class Subscriber:
    """A WebSocket client in a thread of its own, collecting every message."""

    def __init__(self, port: int, ae_title: str, token: str):
        self.url = f"ws://127.0.0.1:{port}/dicomweb/subscribers/{ae_title}"
        self.headers = {"Authorization": f"Token {token}"}
        self.messages: list[dict] = []
        self.received = threading.Condition()
        self.opened = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self.thread.start()
        assert self.opened.wait(20), "the event channel did not accept the connection"

    async def _run(self):
        async with connect(self.url, additional_headers=self.headers) as ws:
            self.opened.set()
            while not self.stop.is_set():
                try:
                    message = await asyncio.wait_for(ws.recv(), timeout=0.1)
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    return
                with self.received:
                    self.messages.append(json.loads(message))
                    self.received.notify_all()

    def wait_for(self, event_type: int, count: int = 1, timeout: float = 20) -> list[dict]:
        def of_type():
            return [m for m in self.messages if m["00001002"]["Value"] == [event_type]]

        with self.received:
            self.received.wait_for(lambda: len(of_type()) >= count, timeout=timeout)
            found = of_type()
        assert len(found) >= count, f"event {event_type} not delivered: {self.messages}"
        return found

    def close(self):
        self.stop.set()
        self.thread.join(timeout=10)


def base(live_server) -> str:
    return f"{live_server.url}/dicomweb/workitems"


def call(method, address, token, dataset=None, **params):
    headers = {"Authorization": f"Token {token}", "Accept": MEDIA}
    data = None
    if dataset is not None:
        headers["Content-Type"] = MEDIA
        data = json.dumps(dataset.to_json_dict())
    return requests.request(method, address, headers=headers, data=data, params=params, timeout=30)


def workitem_uid(live_server, token, sps_id) -> str:
    found = call("GET", base(live_server), token).json()
    by_label = {Dataset.from_json(item).ProcedureStepLabel: Dataset.from_json(item) for item in found}
    return by_label[sps_id].SOPInstanceUID


def state(value, transaction_uid=None) -> Dataset:
    ds = Dataset()
    ds.ProcedureStepState = value
    if transaction_uid:
        ds.TransactionUID = transaction_uid
    return ds


def open_on_dimse(port) -> list[str]:
    responses, proc = findscu(port, [f"{SPS}[0].ScheduledProcedureStepID="])
    assert proc.returncode == 0, proc.stderr
    return [ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for ds in responses]


def test_search_and_retrieve_show_each_step_as_a_scheduled_workitem(live_server, steps, token):
    answer = call("GET", base(live_server), token)
    assert answer.status_code == 200
    items = [Dataset.from_json(item) for item in answer.json()]
    assert [(ds.ProcedureStepLabel, ds.ProcedureStepState, ds.PatientID) for ds in items] == [
        ("U1", "SCHEDULED", "P1"),
        ("U2", "SCHEDULED", "P2"),
    ]
    assert items[0].ScheduledStationNameCodeSequence[0].CodeValue == "AI01"
    assert items[0].ScheduledProcedureStepStartDateTime == "20261126080000"
    assert "TransactionUID" not in items[0]
    got = call("GET", f"{base(live_server)}/{items[0].SOPInstanceUID}", token)
    assert got.status_code == 200 and Dataset.from_json(got.json()[0]).PatientName == "DOE^JOHN"
    assert call("GET", f"{base(live_server)}/1.2.3.404", token).status_code == 404


@pytest.mark.slow
def test_claim_progress_complete_each_delivered_on_the_event_channel(live_server, dicom, channel, steps, token):
    uid = workitem_uid(live_server, token, "U1")
    subscriber = Subscriber(channel.server_port, "AIENGINE", token)
    try:
        assert call("POST", f"{base(live_server)}/{uid}/subscribers/AIENGINE", token).status_code == 201
        assert open_on_dimse(dicom) == ["U1", "U2"]
        assert subscriber.wait_for(STATE)[0]["00741000"]["Value"] == ["SCHEDULED"]  # told at subscription

        transaction_uid = generate_uid()
        claimed = call("PUT", f"{base(live_server)}/{uid}/state", token, state("IN PROGRESS", transaction_uid))
        assert claimed.status_code == 200, claimed.text
        assert subscriber.wait_for(STATE, 2)[1]["00741000"]["Value"] == ["IN PROGRESS"]
        assert open_on_dimse(dicom) == ["U2"]  # claimed over UPS-RS: off the DIMSE worklist
        assert ScheduledProcedureStep.objects.get(sps_id="U1").status == "STARTED"

        progress = Dataset()
        item = Dataset()
        item.ProcedureStepProgress = "50"
        item.ProcedureStepProgressDescription = "half way"
        progress.ProcedureStepProgressInformationSequence = [item]
        updated = call("POST", f"{base(live_server)}/{uid}", token, progress, transaction=transaction_uid)
        assert updated.status_code == 200, updated.text
        reported = subscriber.wait_for(PROGRESS)[0]["00741002"]["Value"][0]
        assert reported["00741004"]["Value"] == [50]

        wrong = call("PUT", f"{base(live_server)}/{uid}/state", token, state("COMPLETED", generate_uid()))
        assert wrong.status_code == 400 and "Transaction UID" in wrong.headers["Warning"]

        done = call("PUT", f"{base(live_server)}/{uid}/state", token, state("COMPLETED", transaction_uid))
        assert done.status_code == 200, done.text
        assert subscriber.wait_for(STATE, 3)[2]["00741000"]["Value"] == ["COMPLETED"]
        assert ScheduledProcedureStep.objects.get(sps_id="U1").status == "COMPLETED"
        again = call("PUT", f"{base(live_server)}/{uid}/state", token, state("CANCELED", transaction_uid))
        assert again.status_code == 409
    finally:
        subscriber.close()


def test_global_subscription_hears_every_workitem_and_the_scp_status(live_server, channel, steps, token):
    subscriber = Subscriber(channel.server_port, "WATCHER", token)
    try:
        assert call("POST", f"{base(live_server)}/{GLOBAL_SUBSCRIPTION}/subscribers/WATCHER", token).status_code == 201
        uid = workitem_uid(live_server, token, "U2")
        transaction_uid = generate_uid()
        assert call("PUT", f"{base(live_server)}/{uid}/state", token, state("IN PROGRESS", transaction_uid)).ok
        assert subscriber.wait_for(STATE)[0]["00001000"]["Value"] == [uid]
        assignment = Dataset()
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "AI02", "L", "AI engine 2"
        assignment.ScheduledStationNameCodeSequence = [code]
        assert call("POST", f"{base(live_server)}/{uid}", token, assignment, transaction=transaction_uid).ok
        assert subscriber.wait_for(ASSIGNED)[0]["00404025"]["Value"][0]["00080100"]["Value"] == ["AI02"]
        assert call("POST", f"{base(live_server)}/{uid}/cancelrequest", token).status_code == 202
        assert subscriber.wait_for(CANCEL_REQUESTED)[0]["00001000"]["Value"] == [uid]
        assert call("DELETE", f"{base(live_server)}/{GLOBAL_SUBSCRIPTION}/subscribers/WATCHER", token).ok
    finally:
        subscriber.close()
    other = Subscriber(channel.server_port, "ANYONE", token)
    try:
        channel.shutdown()  # SCP Status Change, GOING DOWN, reaches every connected subscriber
        assert other.wait_for(SCP_STATUS)[0]["00741242"]["Value"] == ["GOING DOWN"]
    finally:
        other.close()


def test_cancel_request_of_a_scheduled_workitem_cancels_it(live_server, steps, token):
    uid = workitem_uid(live_server, token, "U1")
    assert call("POST", f"{base(live_server)}/{uid}/cancelrequest", token).status_code == 202
    assert ScheduledProcedureStep.objects.get(sps_id="U1").status == "CANCELED"
    assert (
        Dataset.from_json(call("GET", f"{base(live_server)}/{uid}", token).json()[0]).ProcedureStepState == "CANCELED"
    )


def test_state_changes_need_the_transaction_uid_and_a_claim(live_server, steps, token):
    uid = workitem_uid(live_server, token, "U1")
    assert call("PUT", f"{base(live_server)}/{uid}/state", token, state("IN PROGRESS")).status_code == 400
    assert call("PUT", f"{base(live_server)}/{uid}/state", token, state("COMPLETED", generate_uid())).status_code == 409
    transaction_uid = generate_uid()
    assert call("PUT", f"{base(live_server)}/{uid}/state", token, state("IN PROGRESS", transaction_uid)).ok
    second = call("PUT", f"{base(live_server)}/{uid}/state", token, state("IN PROGRESS", generate_uid()))
    assert second.status_code == 409  # claimed already


def test_the_event_channel_refuses_without_credentials_or_role(channel, steps):
    async def attempt(headers):
        async with connect(f"ws://127.0.0.1:{channel.server_port}/dicomweb/subscribers/X", additional_headers=headers):
            pass

    with pytest.raises(InvalidStatus) as refused:
        run_apart(attempt({}))
    assert refused.value.response.status_code == 401
    no_role = api_token(user_with_role(None))
    with pytest.raises(InvalidStatus) as forbidden:
        run_apart(attempt({"Authorization": f"Token {no_role}"}))
    assert forbidden.value.response.status_code == 403


@pytest.mark.slow
def test_a_step_started_by_dimse_mpps_is_reported_to_subscribers_of_its_workitem(
    live_server, dicom, channel, steps, token
):
    from tests.mpps_scu import MppsScu, final, in_progress, scheduled_item

    uid = workitem_uid(live_server, token, "U1")
    step = ScheduledProcedureStep.objects.select_related("requested_procedure__order").get(sps_id="U1")
    subscriber = Subscriber(channel.server_port, "VIEWER", token)
    try:
        assert call("POST", f"{base(live_server)}/{uid}/subscribers/VIEWER", token).status_code == 201
        subscriber.wait_for(STATE)
        item = scheduled_item(
            step.requested_procedure.study_instance_uid,
            step.requested_procedure.order.accession_number,
            step.requested_procedure.requested_procedure_id,
            "U1",
        )
        pps_uid = generate_uid()
        with MppsScu(dicom, calling_ae="AI01") as scu:
            assert scu.create(in_progress([item], patient_id="P1", station="AI01"), pps_uid)[0].Status == 0x0000
            assert subscriber.wait_for(STATE, 2)[1]["00741000"]["Value"] == ["IN PROGRESS"]
            assert scu.set(pps_uid, final())[0].Status == 0x0000
        assert subscriber.wait_for(STATE, 3)[2]["00741000"]["Value"] == ["COMPLETED"]
        got = Dataset.from_json(call("GET", f"{base(live_server)}/{uid}", token).json()[0])
        assert got.ProcedureStepState == "COMPLETED"
    finally:
        subscriber.close()


def test_a_filtered_subscription_hears_only_the_workitems_its_filter_matches(
    live_server, channel, transactional_db, token
):
    schedule(sps_id="F1", patient_id="P1", station="AI01", modality="CT", start=at("20261126", "0800"))
    schedule(sps_id="F2", patient_id="P2", station="MR01", modality="MR", start=at("20261126", "0900"))
    from worklist.dicomweb.ups import FILTERED_SUBSCRIPTION

    subscriber = Subscriber(channel.server_port, "CTONLY", token)
    try:
        subscribe = f"{base(live_server)}/{FILTERED_SUBSCRIPTION}/subscribers/CTONLY"
        assert (
            call("POST", subscribe, token, filter="ScheduledStationNameCodeSequence.CodeValue=AI*").status_code == 201
        )
        mr, ct = workitem_uid(live_server, token, "F2"), workitem_uid(live_server, token, "F1")
        for uid in (mr, ct):  # the MR claim first: not delivered
            assert call("PUT", f"{base(live_server)}/{uid}/state", token, state("IN PROGRESS", generate_uid())).ok
        (report,) = subscriber.wait_for(STATE)
        assert report["00001000"]["Value"] == [ct]
        time.sleep(0.5)
        assert [m["00001000"]["Value"] for m in subscriber.messages if m["00001002"]["Value"] == [STATE]] == [[ct]]
    finally:
        subscriber.close()


def _new_workitem(patient_id="NEW1", state_value="SCHEDULED") -> Dataset:
    ds = Dataset()
    ds.ProcedureStepState = state_value
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "NEW^PATIENT", patient_id, "19800101", "F"
    ds.ScheduledProcedureStepStartDateTime = "20261126150000"
    ds.ScheduledProcedureStepPriority = "HIGH"
    ds.ProcedureStepLabel = "AI lung nodule triage"
    ds.WorklistLabel = "CT"
    station = Dataset()
    station.CodeValue, station.CodingSchemeDesignator, station.CodeMeaning = "AI01", "L", "AI engine"
    ds.ScheduledStationNameCodeSequence = [station]
    request = Dataset()
    request.AccessionNumber, request.RequestedProcedureID = "UPSACC1", "UPSRP1"
    request.StudyInstanceUID, request.RequestedProcedureDescription = "1.2.826.0.1.3680043.8.498.7001", "CT chest"
    ds.ReferencedRequestSequence = [request]
    return ds


@pytest.mark.slow
def test_create_makes_an_order_whose_step_the_dimse_worklist_shows(live_server, dicom, transactional_db, token):
    uid = generate_uid()
    created = call("POST", base(live_server), token, _new_workitem(), workitem=uid)
    assert created.status_code == 201, created.text
    assert created.headers["Location"].endswith(f"/dicomweb/workitems/{uid}")
    got = Dataset.from_json(call("GET", f"{base(live_server)}/{uid}", token).json()[0])
    assert (got.PatientID, got.ProcedureStepState, got.ProcedureStepLabel) == (
        "NEW1",
        "SCHEDULED",
        "AI lung nodule triage",
    )
    assert got.ReferencedRequestSequence[0].AccessionNumber == "UPSACC1"
    responses, proc = findscu(
        dicom, ["AccessionNumber=UPSACC1", f"{SPS}[0].ScheduledStationAETitle=", f"{SPS}[0].Modality="]
    )
    assert proc.returncode == 0, proc.stderr
    (found,) = responses
    assert found.ScheduledProcedureStepSequence[0].ScheduledStationAETitle == "AI01"
    assert call("POST", base(live_server), token, _new_workitem(), workitem=uid).status_code == 409


def test_create_refuses_a_workitem_not_scheduled_or_without_a_patient(live_server, transactional_db, token):
    assert call("POST", base(live_server), token, _new_workitem(state_value="IN PROGRESS")).status_code == 400
    assert call("POST", base(live_server), token, _new_workitem(patient_id="")).status_code == 400
    no_start = _new_workitem()
    del no_start.ScheduledProcedureStepStartDateTime
    answer = call("POST", base(live_server), token, no_start)
    assert answer.status_code == 400 and "0040,4005" in answer.headers["Warning"]


def test_an_order_waiting_for_vetting_is_neither_listed_nor_claimable(live_server, steps, token):
    uid = workitem_uid(live_server, token, "U2")
    order = ScheduledProcedureStep.objects.get(sps_id="U2").requested_procedure.order
    order.vetting_status = VettingStatus.PENDING  # as if its procedure needed vetting
    order.save(update_fields=["vetting_status"])
    listed = [Dataset.from_json(item).ProcedureStepLabel for item in call("GET", base(live_server), token).json()]
    assert listed == ["U1"]
    refused = call("PUT", f"{base(live_server)}/{uid}/state", token, state("IN PROGRESS", generate_uid()))
    assert refused.status_code == 409 and "vetting" in refused.text
    assert ScheduledProcedureStep.objects.get(sps_id="U2").status == "SCHEDULED"
