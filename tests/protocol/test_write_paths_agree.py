"""The one-statement write path against its oracle: the same messages sent
over the real listener, once applied the reference way (the services, in the
ORM) and once the fast way, leave the same rows (patients, orders,
procedures, steps, audit events, inbound log, outbox), ids and timestamps
aside. On SQLite both listeners take the reference way, and agree trivially."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db import connection
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from hl7 import metrics
from hl7 import server as mllp_server
from hl7.models import HL7Sender, InboundMessage, SenderStationRule
from ris.models import (
    AuditEvent,
    Destination,
    ImagingOrder,
    OutboundMessage,
    Patient,
    Procedure,
    RequestedProcedure,
    ScheduledProcedureStep,
    Station,
)
from tests.conftest import SAMPLES
from tests.hl7_builders import adt, msh, omi_order, orm_control, orm_new_order
from tests.peers import MllpClient

pytestmark = pytest.mark.slow

_TABLES = (
    Patient,
    ImagingOrder,
    RequestedProcedure,
    ScheduledProcedureStep,
    AuditEvent,
    InboundMessage,
    OutboundMessage,
)
_TIMES = {"created_at", "updated_at", "at", "received_at", "start"}
_ACK_VARYING = (7, 10)  # MSH-7 the ACK's time, MSH-10 its own control ID


@pytest.fixture
def listeners(transactional_db):
    started = {
        path: mllp_server.start_in_thread("127.0.0.1", 0, idle_timeout=5, write_path=path)
        for path in ("reference", "fast")
    }
    yield {path: server for path, (server, _) in started.items()}
    for server, thread in started.values():
        server.stop()
        thread.join(timeout=5)


def _send_all(port: int, messages: list[bytes]) -> list[list[bytes]]:
    """One connection, one message at a time; the ACKs of each (none, one, or CA and AA)."""
    answers = []
    with MllpClient(port, timeout=10) as client:
        for raw in messages:
            client.send_raw(b"\x0b" + raw + b"\x1c\x0d" + b"\x0b" + _PROBE + b"\x1c\x0d")
            acks = []
            while b"|PROBE|" not in (ack := client.read_ack()):
                acks.append(ack)
            answers.append([_mask_ack(ack) for ack in acks])
    return answers


_PROBE = b"MSH|^~\\&|PROBER|HOSP|RIS|RAD|20261126101500||ZZZ^Z01|PROBE|P|2.5.1\r"


def _mask_ack(ack: bytes | str) -> bytes:
    text = ack.decode("latin-1") if isinstance(ack, bytes) else ack
    segments = text.split("\r")
    fields = segments[0].split("|")
    for number in _ACK_VARYING:
        if len(fields) > number - 1:
            fields[number - 1] = "*"
    return "\r".join(["|".join(fields), *segments[1:]]).encode("latin-1")


def _wipe() -> None:
    InboundMessage.objects.all().delete()
    AuditEvent.objects.all().delete()
    OutboundMessage.objects.all().delete()
    ImagingOrder.objects.all().delete()
    Patient.objects.update(merged_into=None)
    Patient.objects.all().delete()
    _ids_from(_FIRST_ID)


# Both runs draw ids from here on: far from the numbers the messages carry
# (RP1001, SPS1001...), which a row of one run only could otherwise match
# by its own id, and be read as "made from its id" there alone.
_FIRST_ID = 1_000_000


def _ids_from(first: int) -> None:
    tables = [model._meta.db_table for model in (*_TABLES, RequestedProcedure, ScheduledProcedureStep, Procedure)]
    with connection.cursor() as cursor:
        for table in dict.fromkeys(tables):
            if _on_postgresql():
                cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [table, first])
            else:
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, first - 1])


def _snapshot() -> dict[str, list[dict]]:
    """Every row of the tables, ids replaced by their rank in the table and
    values made from an id (accession A0000042, RP42, SPS42, object ids) by
    the rank's; generated Study Instance UIDs and timestamps left out."""
    ranks = {
        model: {pk: n for n, pk in enumerate(model.objects.order_by("pk").values_list("pk", flat=True))}
        for model in _TABLES
    }
    rows = {}
    for model in _TABLES:
        rows[model.__name__] = [_normal(model, row, ranks) for row in model.objects.order_by("pk").values()]
    return rows


def _normal(model, row: dict, ranks) -> dict:
    out = {}
    fields = {field.attname: field for field in model._meta.concrete_fields}
    for name, value in row.items():
        if name in _TIMES or name == "id":
            continue
        field = fields[name]
        if field.is_relation and value is not None:
            value = ("ref", ranks.get(field.related_model, {}).get(value, value))
        elif isinstance(value, memoryview | bytes):
            value = bytes(value)
        elif isinstance(value, str):
            value = _normal_text(model, row, name, value, ranks)
        out[name] = value
    if model is AuditEvent and row["object_type"]:
        target = {"imagingorder": ImagingOrder, "patient": Patient}.get(row["object_type"])
        if target is not None:
            out["object_id"] = ranks[target].get(int(row["object_id"]))
    if model is OutboundMessage and "order_id" in row["context"]:
        out["context"] = {**row["context"], "order_id": ranks[ImagingOrder].get(row["context"]["order_id"])}
    if model is InboundMessage:
        out["ack"], out["commit_ack"] = (_mask_ack(row[name]) if row[name] else b"" for name in ("ack", "commit_ack"))
    return out


_OWN_NUMBERS = {  # the values the RIS makes from a row's own id
    ImagingOrder: {"accession_number": "A{:07d}", "filler_number": "A{:07d}"},
    RequestedProcedure: {"requested_procedure_id": "RP{}"},
    ScheduledProcedureStep: {"sps_id": "SPS{}"},
}


def _normal_text(model, row: dict, name: str, value: str, ranks) -> str:
    if name in ("address", "peer"):  # each run has its own connection
        return value.rsplit(":", 1)[0]
    if name == "study_instance_uid" and value.startswith(settings.RIS_UID_ROOT.rstrip(".") + "."):
        return "generated"
    own = _OWN_NUMBERS.get(model, {}).get(name)
    if own and value == own.format(row["id"]):
        return "made from its id"
    if model is AuditEvent and row["object_type"] == "imagingorder":
        value = value.replace(f"A{int(row['object_id']):07d}", "A(made from its id)")
    return re.sub(
        r"resend of message (\d+)", lambda m: f"resend of message #{ranks[InboundMessage].get(int(m.group(1)))}", value
    )


def _one_statement_count() -> float:
    return metrics.HL7_ONE_STATEMENT.labels("applied")._value.get()


def _both_ways(listeners, messages: list[bytes | str]) -> tuple[dict, dict]:
    raw = [m.encode("utf-8") if isinstance(m, str) else m for m in messages]
    results = {}
    for path in ("reference", "fast"):
        _wipe()
        answers = _send_all(listeners[path].port, raw)
        results[path] = {"acks": answers, **_snapshot()}
    return results["reference"], results["fast"]


def _assert_agree(reference: dict, fast: dict) -> None:
    for key in reference:
        assert fast[key] == reference[key], key


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _orders() -> list[str]:
    return [
        orm_new_order("W1", patient_id="WP1", placer="WPL1", accession="WA1"),
        orm_new_order("W2", patient_id="WP1", placer="WPL2", accession="", name="MUELLER^HANS^Q"),  # RIS accession
        orm_new_order("W2", patient_id="WP1", placer="WPL2", accession=""),  # resend: answered from the log
        orm_new_order("W3", patient_id="WP2", placer="WPL1", accession="WA3"),  # placer in use: AE 205
        orm_new_order("W4", patient_id="WP3", placer="WPL4", accession="WA4", modality=""),  # no modality: AE
        orm_new_order("W5", patient_id="WP3", placer="WPL5", accession="WA5", station="", study_uid="1.2.3.99"),
        orm_new_order("W6", patient_id="WP6", placer="WPL6", accession="WA6", study_uid="1.2.3.99"),  # UID seen: AE
        orm_control("W7", "XO", placer="WPL1", obr={24: "MR", 31: "^Knee"}),
        orm_control("W7a", "XO", placer="WPL1", obr={4: "CTX^CT Extra^LOCAL", 16: '""', 20: "SPS1001", 34: "1^DOC"}),
        orm_control("W7b", "XO", placer="WPL1", obr={19: "RPNEW", 24: "CT"}),  # a procedure to add
        orm_control("W7c", "XO", placer="WPL1", obr={24: '""'}),  # the modality erased: refused
        orm_control("W7d", "XO", placer="WPL1", obr={27: "^^^20261127080000^^S"}),  # new start and priority
        orm_control("W7e", "XO", placer="NOSUCH", obr={24: "CT"}),
        orm_control("W8", "CA", placer="WPL2"),
        orm_control("W9", "DC", placer="WPL5"),
        orm_control("W10", "SC", placer="WPL1", status="IP"),
        orm_control("W11", "CA", placer="NOSUCH"),  # unknown order: AE 204
        orm_control("W11a", "CA", placer="WPL2"),  # canceled already: the state machine refuses
        orm_control("W11b", "HD", placer="WPL16x"),
        orm_control("W11c", "SC", placer="WPL1", status="IP"),  # the status it has: nothing changes
        orm_control("W11d", "RL", placer="WPL1"),  # not on hold: refused
        orm_control("W11e", "SC", placer="", filler="WA4x", status="CA"),  # by filler number, unknown
        orm_control("W11f", "SC", placer="", filler="WA1", status="DC"),  # by filler number
        adt("W12", "A08", pid={3: "WP1^^^HOSP", 5: "MUELLER^HANS^PETER", 7: "19700216", 8: "M"}),
        adt("W13", "A01", pid={3: "WP9^^^HOSP", 5: "NEU^NINA", 8: "F"}),
        adt("W14", "A08", pid={3: "WP9^^^HOSP", 5: '""', 7: '""'}),
        adt("W15", "A40", pid={3: "WP9^^^HOSP", 5: "NEU^NINA"}, mrg={1: "WP3^^^HOSP"}),
        orm_new_order("W16", patient_id="WP3", placer="WPL16", accession="WA16"),  # the merged patient's survivor
        orm_control("W16a", "HD", placer="WPL16"),
        orm_control("W16b", "RL", placer="WPL16"),
        orm_control("W16c", "HD", placer="WPL16"),
        orm_control("W16d", "SC", placer="WPL16", status="CA"),
        orm_control("W16e", "XO", placer="WPL16", obr={24: "MR"}),  # canceled: refused
        adt("W17", "A08", pid={3: "WP3^^^HOSP", 5: "ALT^ALFRED"}),  # a merged patient: left alone
        omi_order(
            "W18",
            placer="WPL18",
            patient_id="WP18",
            ipcs=[
                {1: "WA18", 2: "RP18", 3: "1.2.3.18", 4: "SPS18A", 5: "MR", 9: "MR01"},
                {1: "WA18", 2: "RP18", 3: "1.2.3.18", 4: "SPS18B", 5: "MR", 9: "MR02"},
            ],
        ),
        orm_new_order("W19", patient_id="WP19", placer="WPL19", accession="WA19", start="2026"),  # bad time
        _enhanced("W20", "AL", "AL", placer="WPL20"),  # CA then AA
        _enhanced("W21", "NE", "NE", placer="WPL21"),  # no ACK at all
        _enhanced("W22", "ER", "AL", placer="WPL22"),  # AA only
    ]


def _enhanced(control_id: str, accept: str, application: str, *, placer: str) -> str:
    """A new order in enhanced mode (MSH-15, MSH-16)."""
    text = orm_new_order(control_id, patient_id=f"P{placer}", placer=placer, accession=f"A{placer}")
    header = msh(control_id, accept_ack=accept, application_ack=application)
    return header + text[text.index("\r") :]


def test_orders_changes_and_patient_updates_leave_the_same_rows_both_ways(listeners):
    Station.objects.create(ae_title="CT01", modality="CT", station_name="CT ONE", location="R1")
    Station.objects.create(ae_title="CT02", modality="CT", is_default_for_modality=True, location="R2")
    before = _one_statement_count()
    reference, fast = _both_ways(listeners, _orders())
    _assert_agree(reference, fast)
    assert all(ack.startswith(b"MSH") for acks in reference["acks"] for ack in acks)
    if _on_postgresql():  # new orders and patient updates took one statement each
        assert _one_statement_count() - before >= 15


def test_with_image_managers_the_same_messages_leave_the_same_rows_and_outbox_both_ways(listeners):
    """Procedure Scheduled / Update (RAD-4, RAD-13): the one-statement path
    writes the Image Managers' outbox rows of new orders and cancels itself,
    and leaves what it cannot carry (a known patient changed, ADT) to the services."""
    Station.objects.create(ae_title="CT01", modality="CT", station_name="CT ONE", location="R1")
    Station.objects.create(ae_title="CT02", modality="CT", is_default_for_modality=True, location="R2")
    for name, role, events in (
        ("PACS", Destination.Role.IMAGE_MANAGER, []),
        ("ARCHIVE", Destination.Role.IMAGE_MANAGER, ["procedure"]),
        ("EHR", Destination.Role.ORDER_PLACER, []),
        ("MPPS ONLY", Destination.Role.IMAGE_MANAGER, ["mpps"]),
    ):
        Destination.objects.create(
            name=name, kind=Destination.Kind.HL7_MLLP, role=role, events=events, host="127.0.0.1", port=9
        )
    before = _one_statement_count()
    reference, fast = _both_ways(listeners, _orders())
    _assert_agree(reference, fast)
    assert {row["event"] for row in fast["OutboundMessage"]} >= {"procedure"}
    if _on_postgresql():  # the new orders of new or unchanged patients, and the cancels, took one statement
        assert _one_statement_count() - before >= 8


def test_station_rules_and_the_catalogue_give_the_same_steps_both_ways(listeners):
    ct = Station.objects.create(ae_title="CT07", modality="CT", station_name="SEVEN", location="R7")
    mr = Station.objects.create(ae_title="MR03", modality="MR", location="R3")
    Procedure.objects.create(
        code="CTHEAD", code_scheme="LOCAL", modality="CT", name="CT Head", default_duration_minutes=25
    )
    Procedure.objects.create(code="KNEE", modality="MR", name="MR Knee", station=mr)
    sender = HL7Sender.objects.create(application="EHR", facility="HOSP")
    SenderStationRule.objects.create(sender=sender, procedure_code="CTHEAD", station=ct)
    SenderStationRule.objects.create(modality="MR", station=mr)
    messages = [
        orm_new_order("S1", patient_id="SP1", placer="SPL1", accession="SA1", station=""),
        orm_new_order("S2", patient_id="SP2", placer="SPL2", accession="SA2", station="", modality=""),
        orm_new_order("S3", patient_id="SP3", placer="SPL3", accession="SA3", station="CT99"),
        orm_control("S4", "NW", placer="SPL4", obr={4: "KNEE^MR Knee^LOCAL", 24: "MR"}),
        orm_new_order("S5", patient_id="SP5", placer="SPL5", accession="SA5").replace("|EHR|HOSP|", "|OTHER|HOSP|"),
    ]
    reference, fast = _both_ways(listeners, messages)
    _assert_agree(reference, fast)


def test_every_public_sample_leaves_the_same_rows_both_ways(listeners):
    Procedure.objects.create(code="24725-4", code_scheme="LN", modality="CT", name="CT Head")
    reference, fast = _both_ways(listeners, [path.read_bytes() for path in sorted(SAMPLES.glob("*.hl7"))])
    _assert_agree(reference, fast)


_VALUES = st.one_of(
    st.sampled_from(
        ["", '""', "X" * 70, "A\\X00\\B", "MÜLLER^HANS", "CT", "MR", "NW", "CA", "XO", "SC", "IP", "2.5.1"]
    ),
    st.text(alphabet=st.sampled_from(list("AZ09^~&\\ .-")), max_size=12),
)


@st.composite
def _message_runs(draw) -> list[str]:
    """New orders, changes, status moves and patient updates for a few
    patients and placer numbers, with values changed field by field."""
    placers = st.sampled_from(["HPL1", "HPL2", "HPL3"])
    messages = []
    for number in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["NW", "NW", "XO", "move", "ADT", "resend"]))
        if kind == "resend" and messages:
            messages.append(messages[-1])
            continue
        if kind == "XO":
            obr = {
                draw(st.sampled_from([4, 16, 19, 20, 24, 31, 34])): draw(_VALUES)
                for _ in range(draw(st.integers(1, 3)))
            }
            text = orm_control(f"H{number}", "XO", placer=draw(placers), obr=obr)
        elif kind == "move":
            control = draw(st.sampled_from(["CA", "DC", "HD", "RL", "SC"]))
            status = draw(st.sampled_from(["IP", "CM", "CA", "DC", "HD", "SC"])) if control == "SC" else ""
            text = orm_control(f"H{number}", control, placer=draw(placers), status=status)
        elif kind == "ADT":
            pid = {3: draw(st.sampled_from(["HP1^^^HOSP", "HP2^^^HOSP"])), 5: draw(_VALUES), 7: draw(_VALUES)}
            text = adt(f"H{number}", draw(st.sampled_from(["A01", "A04", "A08"])), pid=pid)
        else:
            text = orm_new_order(
                f"H{number}",
                patient_id=draw(st.sampled_from(["HP1", "HP2", "HP3"])),
                placer=draw(placers),
                accession=draw(st.sampled_from(["", f"HA{number}", "HA1"])),
            )
            fields = text.split("|")
            for _ in range(draw(st.integers(0, 3))):
                fields[draw(st.integers(12, len(fields) - 1))] = draw(_VALUES)
            text = "|".join(fields)
        messages.append(text)
    return messages


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(messages=_message_runs())
def test_generated_messages_leave_the_same_rows_both_ways(listeners, messages):
    reference, fast = _both_ways(listeners, messages)
    _assert_agree(reference, fast)
