"""MPPS forwarded to a downstream AE through the outbox; pynetdicom plays the PACS."""

import pytest
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from ris.models import Destination, OutboundMessage
from ris.services.outbox import outbox_deliver
from tests.conftest import free_port
from tests.mpps_scu import MppsScu, final, in_progress, scheduled_item

pytestmark = pytest.mark.slow
Status = OutboundMessage.Status


class FakePacs:
    """An MPPS SCP that records what it is sent and answers with the status it is told."""

    def __init__(self, port: int, create_status: int = 0x0000):
        self.received = []
        self.create_status = create_status
        ae = AE(ae_title="PACS")
        ae.add_supported_context(ModalityPerformedProcedureStep)
        handlers = [(evt.EVT_N_CREATE, self._on_create), (evt.EVT_N_SET, self._on_set)]
        self.server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)

    def _on_create(self, event):
        self.received.append(("N-CREATE", event.request.AffectedSOPInstanceUID, event.attribute_list))
        return self.create_status, event.attribute_list

    def _on_set(self, event):
        self.received.append(("N-SET", event.request.RequestedSOPInstanceUID, event.modification_list))
        return 0x0000, event.modification_list

    def stop(self):
        self.server.shutdown()


def _pacs_destination(port: int) -> Destination:
    return Destination.objects.create(
        name="PACS",
        kind=Destination.Kind.DICOM,
        host="127.0.0.1",
        port=port,
        ae_title="PACS",
        events=["mpps"],
        timeout_seconds=5,
    )


def _perform(dicom_port: int, uid: str) -> None:
    with MppsScu(dicom_port) as scu:
        assert scu.create(in_progress([scheduled_item(generate_uid())]), uid)[0].Status == 0x0000
        assert scu.set(uid, final())[0].Status == 0x0000


def test_accepted_mpps_waits_while_the_pacs_is_down_then_is_forwarded_in_order(dicom):
    port = free_port()
    destination = _pacs_destination(port)
    uid = generate_uid()
    _perform(dicom, uid)
    assert outbox_deliver(destination_id=destination.pk) == 0  # nobody listens yet
    first = destination.messages.order_by("id").first()
    assert first.status == Status.RETRYING and "association" in first.last_error
    destination.messages.update(next_attempt_at=None)
    pacs = FakePacs(port)
    try:
        assert outbox_deliver(destination_id=destination.pk) == 2
    finally:
        pacs.stop()
    assert [(operation, sop_uid) for operation, sop_uid, _ in pacs.received] == [("N-CREATE", uid), ("N-SET", uid)]
    created, changed = pacs.received[0][2], pacs.received[1][2]
    assert created.PatientID == "PAT1001" and created.PerformedProcedureStepStatus == "IN PROGRESS"
    assert changed.PerformedProcedureStepStatus == "COMPLETED" and len(changed.PerformedSeriesSequence) == 1
    assert set(destination.messages.values_list("status", flat=True)) == {Status.ACKED}


def test_a_refused_mpps_is_not_forwarded(dicom):
    destination = _pacs_destination(free_port())
    with MppsScu(dicom) as scu:
        assert scu.set(generate_uid(), final())[0].Status == 0x0112
    assert not destination.messages.exists()


def test_a_resent_n_create_the_pacs_already_has_counts_as_delivered(dicom):
    port = free_port()
    destination = _pacs_destination(port)
    with MppsScu(dicom) as scu:
        scu.create(in_progress([scheduled_item(generate_uid())]))
    pacs = FakePacs(port, create_status=0x0111)
    try:
        assert outbox_deliver(destination_id=destination.pk) == 1
    finally:
        pacs.stop()
    assert destination.messages.get().response.startswith("N-CREATE 0x0111")
