"""What the RIS sends reaches a strict EHR listener whole, whatever the
text holds: control characters are escaped as \\Xhh\\ and names are XPN /
XCN as hl7apy reads them."""

import pytest
from django.db import transaction
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from hl7.er7 import Delimiters, Segment
from ris.models import Destination, OutboundMessage, Patient
from ris.services.outbox import outbox_deliver, outbox_enqueue
from ris.services.reports import report_save_draft, report_sign
from ris.states import ReportStatus
from tests.factories import TEST_ACTOR, placed_order, radiologist
from tests.strict_ehr import StrictEhr

pytestmark = pytest.mark.slow
Status = OutboundMessage.Status
NAME = "DOE\x0bX^JOHN"  # a vertical tab, as a name sent as \X0B\ before the door refused it


@pytest.fixture
def ehr():
    server = StrictEhr()
    yield server
    server.stop()


def _destination(port: int, event: str, version: str = "2.5.1") -> Destination:
    return Destination.objects.create(
        name=f"EHR {event}",
        kind=Destination.Kind.HL7_MLLP,
        host="127.0.0.1",
        port=port,
        timeout_seconds=30,  # the strict listener reads with hl7apy, slow on a loaded machine
        max_attempts=1,
        hl7_version=version,
        events=[event],
    )


def _order_with_odd_name():
    order = placed_order()
    Patient.objects.filter(pk=order.patient_id).update(name=NAME)
    order.referring_physician = "WELBY^MARCUS"
    order.save(update_fields=["referring_physician"])
    return order


def _segment(message: str, name: str) -> Segment:
    return Segment(next(line for line in message.split("\r") if line.startswith(name)), Delimiters())


def test_a_report_with_vertical_tab_and_file_separator_arrives_whole(transactional_db, ehr):
    destination = _destination(ehr.port, "report")
    order = _order_with_odd_name()
    draft = report_save_draft(
        actor=TEST_ACTOR,
        procedure=order.procedures.get(),
        author=radiologist(),
        findings="Pasted\x0bfrom a word processor\x1cend.",
        impression="Normal.",
    )
    report_sign(actor=TEST_ACTOR, report=draft.report, signer=radiologist(), status=ReportStatus.FINAL)
    delivered = outbox_deliver(destination_id=destination.pk)
    assert [reason for reason, _ in ehr.refused] == []
    assert delivered == 1
    [message] = ehr.received
    assert _segment(message, "PID").get(5, 1) == "DOE\x0bX"  # our reader unescapes it back
    assert "Pasted\\X0B\\from a word processor\\X1C\\end." in message
    assert OutboundMessage.objects.get().status == Status.ACKED


@pytest.mark.parametrize("version", ["2.3.1", "2.5.1"])
def test_an_order_status_message_arrives_whole_with_pv1_8_as_xcn(transactional_db, ehr, version):
    destination = _destination(ehr.port, "order_status", version)
    order = _order_with_odd_name()
    with transaction.atomic():
        outbox_enqueue(event="order_status", context={"order_id": order.pk, "status": "CANCELED"}, order=order)
    delivered = outbox_deliver(destination_id=destination.pk)
    assert [reason for reason, _ in ehr.refused] == []
    assert delivered == 1
    [message] = ehr.received
    parsed = parse_message(message, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    patient = parsed.omi_o23_patient if version == "2.5.1" else parsed.orm_o01_patient
    referring = patient.omi_o23_patient_visit.pv1 if version == "2.5.1" else patient.orm_o01_patient_visit.pv1
    assert referring.pv1_8.to_er7() == "^WELBY^MARCUS"  # XCN.1 is the ID, the family name XCN.2


def test_the_strict_listener_refuses_what_is_sent_raw():
    assert StrictEhr.problem("MSH|^~\\&|RIS|RAD|||20261126||ORU^R01|1|P|2.5.1\rPID|1||P1||DOE\x0bX\r")
