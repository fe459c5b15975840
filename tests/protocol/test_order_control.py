"""Every ORC-1 order-control code over MLLP, with its effect on the stored order."""

import pytest

from ris.models import ImagingOrder, ScheduledProcedureStep
from tests.hl7_builders import orm_control, orm_new_order
from tests.peers import MllpClient, ack_segments, findscu

pytestmark = pytest.mark.slow

STUDY_UID = "1.2.826.0.1.3680043.8.498.2001"


def _place(client: MllpClient, control_id: str = "NW1", **options) -> ImagingOrder:
    ack = ack_segments(client.exchange(orm_new_order(control_id, study_uid=STUDY_UID, **options)))
    assert ack["MSA"][1] == "AA", ack
    return ImagingOrder.objects.get(placer_number=options.get("placer", "PL1001"))


def _msa(client: MllpClient, text: str) -> list[str]:
    return ack_segments(client.exchange(text))["MSA"]


def _statuses(order: ImagingOrder) -> tuple[str, set[str]]:
    order.refresh_from_db()
    steps = ScheduledProcedureStep.objects.filter(requested_procedure__order=order)
    return order.status, {step.status for step in steps}


def test_xo_changes_the_order_in_place_and_keeps_sps_id_and_study_uid(mllp):
    with MllpClient(mllp.port) as client:
        order = _place(client)
        change = orm_control(
            "XO1",
            "XO",
            orc={7: "^^^20261127090000^^S"},
            obr={
                4: "CTHEAD^CT Head with contrast^LOCAL",
                20: "SPS1001",
                24: "CT",
                31: '""',
                34: "",
            },
        )
        assert _msa(client, change)[1:3] == ["AA", "XO1"]
    order.refresh_from_db()
    procedure = order.procedures.get()
    step = procedure.steps.get()
    assert order.priority == "STAT"
    assert order.reason == ""  # HL7 "" erases
    assert step.performing_physician == "TECH^TOM"  # empty keeps
    assert procedure.description == "CT Head with contrast"
    assert step.start.isoformat().startswith("2026-11-27T09:00")
    assert (step.sps_id, procedure.study_instance_uid, order.accession_number) == ("SPS1001", STUDY_UID, "ACC1001")


def test_xo_of_unknown_order_is_acked_ae_204(mllp):
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(orm_control("XO2", "XO", placer="NOPE", obr={24: "CT"})))
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][1].startswith("ORC^1^2^204")


def test_cancel_sets_order_and_steps_canceled_and_the_worklist_drops_the_step(mllp, dicom):
    with MllpClient(mllp.port) as client:
        order = _place(client)
        assert _msa(client, orm_control("CA1", "CA"))[1:3] == ["AA", "CA1"]
    assert _statuses(order) == ("CANCELED", {"CANCELED"})
    responses, proc = findscu(dicom, ["PatientID=PAT1001", "AccessionNumber"])
    assert proc.returncode == 0, proc.stderr
    assert responses == []


def test_cancel_of_unknown_order_is_acked_ae_204(mllp):
    with MllpClient(mllp.port) as client:
        ack = ack_segments(client.exchange(orm_control("CA2", "CA", placer="UNKNOWN")))
    assert ack["MSA"][1:3] == ["AE", "CA2"]
    assert ack["ERR"][1] == "ORC^1^2^204&Unknown key identifier&HL70357"


def test_cancel_finds_the_order_by_filler_number_alone(mllp):
    with MllpClient(mllp.port) as client:
        order = _place(client)
        text = orm_control("CA3", "CA", placer="", filler=order.filler_number, sender="OTHER")
        assert _msa(client, text)[1] == "AA"
    assert _statuses(order)[0] == "CANCELED"


def test_cancel_of_a_canceled_order_is_refused_ae_and_changes_nothing(mllp):
    with MllpClient(mllp.port) as client:
        order = _place(client)
        assert _msa(client, orm_control("CA4", "CA"))[1] == "AA"
        ack = ack_segments(client.exchange(orm_control("CA5", "CA")))
    assert ack["MSA"][1] == "AE"
    assert "CANCELED" in ack["MSA"][3]
    assert _statuses(order) == ("CANCELED", {"CANCELED"})


def test_discontinue_sets_order_and_open_steps_discontinued(mllp):
    with MllpClient(mllp.port) as client:
        order = _place(client)
        assert _msa(client, orm_control("DC1", "DC"))[1] == "AA"
    assert _statuses(order) == ("DISCONTINUED", {"DISCONTINUED"})


def test_hold_then_release_moves_the_order_and_keeps_the_steps(mllp):
    with MllpClient(mllp.port) as client:
        order = _place(client)
        assert _msa(client, orm_control("HD1", "HD"))[1] == "AA"
        assert _statuses(order) == ("ON_HOLD", {"SCHEDULED"})
        assert _msa(client, orm_control("RL1", "RL"))[1] == "AA"
    assert _statuses(order) == ("SCHEDULED", {"SCHEDULED"})


def test_release_of_an_order_not_on_hold_is_acked_ae(mllp):
    with MllpClient(mllp.port) as client:
        order = _place(client)
        assert _msa(client, orm_control("RL2", "RL"))[1] == "AE"
    assert _statuses(order)[0] == "SCHEDULED"


def test_status_change_to_completed_follows_orc_5(mllp):
    with MllpClient(mllp.port) as client:
        order = _place(client)
        assert _msa(client, orm_control("SC1", "SC", status="CM"))[1] == "AA"
    assert _statuses(order)[0] == "COMPLETED"


def test_status_change_without_orc_5_is_acked_ae_101(mllp):
    with MllpClient(mllp.port) as client:
        _place(client)
        ack = ack_segments(client.exchange(orm_control("SC2", "SC")))
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][1].startswith("ORC^1^5^101")


def test_illegal_status_change_is_refused_ae_and_the_order_keeps_its_status(mllp):
    with MllpClient(mllp.port) as client:
        order = _place(client)
        assert _msa(client, orm_control("SC3", "SC", status="CA"))[1] == "AA"
        assert _msa(client, orm_control("SC4", "SC", status="IP"))[1] == "AE"
    assert _statuses(order) == ("CANCELED", {"CANCELED"})


def test_unknown_order_control_is_acked_ae_103_at_orc_1(mllp):
    with MllpClient(mllp.port) as client:
        _place(client)
        ack = ack_segments(client.exchange(orm_control("ZZ1", "ZZ")))
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][1].startswith("ORC^1^1^103")


def test_new_order_with_a_used_placer_number_is_acked_ae_205(mllp):
    with MllpClient(mllp.port) as client:
        _place(client)
        ack = ack_segments(client.exchange(orm_new_order("NW2", accession="ACC9")))
    assert ack["MSA"][1] == "AE"
    assert ack["ERR"][1].startswith("ORC^1^2^205")
    assert ImagingOrder.objects.count() == 1


def test_an_order_on_hold_leaves_the_worklist_until_it_is_released(mllp, dicom):
    def worklist() -> list[str]:
        responses, proc = findscu(dicom, ["PatientID=PAT1001", "AccessionNumber"])
        assert proc.returncode == 0, proc.stderr
        return [r.AccessionNumber for r in responses]

    with MllpClient(mllp.port) as client:
        _place(client)
        assert worklist() == ["ACC1001"]
        assert _msa(client, orm_control("HD2", "HD"))[1] == "AA"
        assert worklist() == []
        assert _msa(client, orm_control("RL3", "RL"))[1] == "AA"
        assert worklist() == ["ACC1001"]
