"""Appointment notifications (IHE RAD-48): booking, moving, resizing,
unbooking and a no-show reach a strict MLLP listener (tests/strict_ehr.py,
hl7apy reading strictly) as SIU^S12, S13, S14, S15 and S26, in order, with
the booking's times; a destination that does not list appointments gets none."""

import datetime as dt

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from hl7.writer import hl7_time
from ris.models import Destination, OutboundMessage, ScheduledProcedureStep
from ris.services.appointments import appointment_book, appointment_move, appointment_resize, appointment_unbook
from ris.services.outbox import outbox_deliver
from ris.services.steps import step_no_show
from tests import factories as f
from tests.factories import TEST_ACTOR
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, ack_segments
from tests.strict_ehr import StrictEhr

pytestmark = pytest.mark.slow


@pytest.fixture
def placer():
    server = StrictEhr()
    yield server
    server.stop()


def _destination(port: int, events: list[str], name: str, version: str = "2.5.1") -> Destination:
    return Destination.objects.create(
        name=name, kind=Destination.Kind.HL7_MLLP, host="127.0.0.1", port=port, events=events, hl7_version=version,
        receiving_application="EHR", receiving_facility="HOSP", timeout_seconds=5,
    )  # fmt: skip


def _ordered_step(port: int, placer_number: str, accession: str) -> ScheduledProcedureStep:
    with MllpClient(port) as client:
        ack = client.exchange(orm_new_order(f"NW-{placer_number}", placer=placer_number, accession=accession))
    assert ack_segments(ack)["MSA"][1] == "AA"
    return ScheduledProcedureStep.objects.get(requested_procedure__order__accession_number=accession)


def test_each_change_of_a_booking_reaches_the_order_placer_in_order_with_its_times(mllp, placer, site_zone):
    destination = _destination(placer.port, ["appointment"], "order placer")
    other = _destination(placer.port, [], "EHR listing no events")
    step = _ordered_step(mllp.port, "PL48", "ACC48")
    monday = f.next_monday()
    ct1, ct2 = f.room("CT1"), f.room("CT2")
    booked = appointment_book(step=step, room=ct1, start=f.local(monday, 9), actor=TEST_ACTOR, duration_minutes=20)
    appointment_move(appointment=booked, room=ct2, start=f.local(monday, 11), actor=TEST_ACTOR, reason="CT1 down")
    booked.refresh_from_db()
    appointment_resize(appointment=booked, duration_minutes=30, actor=TEST_ACTOR)
    booked.refresh_from_db()
    appointment_unbook(appointment=booked, reason="patient asked", actor=TEST_ACTOR)
    assert not OutboundMessage.objects.filter(destination=other, event="appointment").exists()  # order status only
    assert outbox_deliver(destination_id=destination.pk) == 4
    assert placer.refused == []
    sent = [parse_message(text, validation_level=VALIDATION_LEVEL.STRICT) for text in placer.received]
    assert [m.msh.msh_9.to_er7() for m in sent] == [f"SIU^{e}^SIU_S12" for e in ("S12", "S13", "S14", "S15")]
    expected = [  # (start, end, room, filler status) as each change left the booking
        (f.local(monday, 9), f.local(monday, 9, 20), "CT1", "Booked"),
        (f.local(monday, 11), f.local(monday, 11, 20), "CT2", "Booked"),
        (f.local(monday, 11), f.local(monday, 11, 30), "CT2", "Booked"),
        (f.local(monday, 11), f.local(monday, 11, 30), "CT2", "Cancelled"),
    ]
    for message, (start, end, room, status) in zip(sent, expected, strict=True):
        segments = {line[:3]: line.split("|") for line in message.to_er7().split("\r")}
        assert (segments["TQ1"][7], segments["TQ1"][8]) == (hl7_time(start), hl7_time(end))
        assert segments["SCH"][11].split("^")[3:5] == [hl7_time(start), hl7_time(end)]
        assert (segments["AIS"][4], segments["AIL"][6], segments["AIL"][3]) == (hl7_time(start), hl7_time(start), room)
        assert (segments["SCH"][25], segments["SCH"][26]) == (status, "PL48^EHR")
        assert segments["PID"][3] == "PAT1001^^^HOSP"
        assert segments["AIP"][3] == "^TECH^TOM"  # OBR-34, the performing physician (its name is kept)


def test_a_no_show_reaches_the_order_placer_as_s26_and_a_v231_placer_gets_that_versions_segments(
    mllp, placer, site_zone
):
    destination = _destination(placer.port, ["appointment"], "order placer", version="2.3.1")
    step = _ordered_step(mllp.port, "PL26", "ACC26")
    start = f.local(f.next_monday(), 10)
    appointment_book(step=step, room=f.room("CT1"), start=start, actor=TEST_ACTOR, duration_minutes=15)
    step_no_show(step=step, reason="did not come", actor=TEST_ACTOR)
    assert outbox_deliver(destination_id=destination.pk) == 2
    assert placer.refused == []
    booked, no_show = (text.split("\r") for text in placer.received)
    assert booked[0].split("|")[8] == "SIU^S12^SIU_S12"
    assert no_show[0].split("|")[8] == "SIU^S26^SIU_S12"
    assert not any(line.startswith("TQ1") for line in no_show)
    sch = next(line for line in no_show if line.startswith("SCH")).split("|")
    assert (sch[11].split("^")[3], sch[25]) == (hl7_time(start), "Noshow")
    assert len(sch) == 26  # SCH-26/27, the order numbers, exist from v2.4 on
    assert dt.timedelta(minutes=int(sch[9])) == dt.timedelta(minutes=15)
