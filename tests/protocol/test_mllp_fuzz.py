"""Property: whatever comes in a frame, the listener answers it (or stays
silent where MLLP framing is broken or enhanced mode asks for silence),
keeps serving, and never leaves half an order behind."""

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hl7.errors import HL7Error
from hl7.models import InboundMessage
from hl7.read_message import read_header
from hl7.validate import PERSON_NAMES, VALUES
from ris.models import ImagingOrder, RequestedProcedure
from tests.hl7_builders import adt, message, msh, omi_order, orm_control, orm_new_order, segment
from tests.peers import MllpClient

# Both write paths (on SQLite the one-statement path is the reference one).
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("mllp", ["fast", "reference"], indirect=True)]

BASES = [
    orm_new_order("F1", study_uid="1.2.3.4"),
    orm_new_order("F2", name="MÜLLER^HANS", charset="UNICODE UTF-8"),
    omi_order(
        "F3",
        ipcs=[
            {1: "ACC1", 2: "RP1", 3: "1.2.3.5", 4: "SPS1", 5: "MR", 9: "MR01"},
            {1: "ACC1", 2: "RP1", 3: "1.2.3.5", 4: "SPS2", 5: "MR", 9: "MR02"},
        ],
    ),
    orm_control("F4", "XO", obr={24: "CT", 31: '""'}),
    orm_control("F5", "CA"),
    adt("F6", "A40", pid={3: "P1^^^H", 5: "A^B"}, mrg={1: "P2^^^H"}),
]
PROBE = message(msh("PROBE", message_type="ZZZ^Z01"), segment("PID", {3: "X"})).encode()
FIELD_TEXT = st.one_of(
    st.text(alphabet=st.sampled_from(list('|^~\\&""ABZ019 .-\r\nÜ山\x00')), max_size=24),
    # values longer than any DICOM VR they become (SH 16, LO 64, PN 64 per group)
    st.text(alphabet=st.sampled_from(list("ABZ019^ Ü")), min_size=17, max_size=300),
    # control characters, escaped as a sender would smuggle them, or sent raw
    st.lists(
        st.sampled_from(["A", "\\X00\\", "\\X01\\", "\\X0B\\", "\\X1C\\", "\\X7F\\", "\x01", "\x1f", "\t"]),
        min_size=1,
        max_size=6,
    ).map("".join),
    # values that steer the message: order control and status, ACK modes, character sets, erase
    st.sampled_from(
        [
            "NW",
            "XO",
            "CA",
            "DC",
            "SC",
            "HD",
            "RL",
            "CM",
            "IP",
            "AL",
            "NE",
            "ER",
            "SU",
            '""',
            "UNICODE UTF-8",
            "8859/5",
            "~ISO IR87",
            "ADT^A40",
            "OMI^O23",
            "2.5.1",
        ]
    ),
)
settings_ = settings(
    max_examples=100,
    deadline=3000,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def mutated_messages(draw) -> bytes:
    text = draw(st.sampled_from(BASES))
    fields = text.split("|")
    for _ in range(draw(st.integers(0, 4))):  # field-level: delimiters, "", odd text
        fields[draw(st.integers(0, len(fields) - 1))] = draw(FIELD_TEXT)
    data = bytearray("|".join(fields).encode("utf-8"))
    for _ in range(draw(st.integers(0, 3))):  # byte-level: flips, cuts, insertions
        at = draw(st.integers(0, max(0, len(data) - 1)))
        data[at : at + draw(st.integers(0, 3))] = draw(st.binary(max_size=4))
    return bytes(data)


def _framed_payload(data: bytes) -> bytes:
    """Inside a frame the framing bytes cannot occur."""
    return data.replace(b"\x0b", b"?").replace(b"\x1c", b"?")


def _allowed_answers(payload: bytes) -> range:
    try:
        header = read_header(payload)
    except HL7Error:
        return range(1, 2)  # no readable MSH: one AR
    return range(3) if header.enhanced_mode else range(1, 2)


def _acks_until_probe(client: MllpClient) -> list[bytes]:
    acks = []
    while True:
        ack = client.read_ack()
        if b"|PROBE" in ack.split(b"\r")[1]:
            return acks
        acks.append(ack)


def _assert_no_half_order() -> None:
    assert not ImagingOrder.objects.filter(procedures__isnull=True).exists()
    assert not RequestedProcedure.objects.filter(steps__isnull=True).exists()
    assert not InboundMessage.objects.filter(ack_code="").exists()  # every stored message was answered


@settings_
@given(data=st.one_of(mutated_messages(), st.binary(max_size=300)))
def test_any_framed_message_gets_its_ack_and_leaves_no_half_order(mllp, data):
    payload = _framed_payload(data)
    with MllpClient(mllp.port, timeout=10) as client:
        client.send_raw(b"\x0b" + payload + b"\x1c\x0d" + b"\x0b" + PROBE + b"\x1c\x0d")
        acks = _acks_until_probe(client)
    assert len(acks) in _allowed_answers(payload)
    for ack in acks:
        assert ack.startswith(b"MSH")
        msa = ack.split(b"\r")[1].split(b"|")
        assert msa[0] == b"MSA" and msa[1] in {b"AA", b"AE", b"AR", b"CA", b"CE", b"CR"}
        # never "cannot store now" for content: it would fail again, and an engine would retry forever
        assert b"207^" not in ack or msa[1] == b"AE", ack
        event(f"answered {msa[1].decode()}")
    _assert_no_half_order()


@settings(max_examples=30, deadline=3000, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(max_size=200), half=st.booleans())
def test_broken_framing_is_answered_by_silence_and_the_next_frame_by_its_ack(mllp, garbage, half):
    noise = _framed_payload(garbage)
    if half:
        noise = b"\x0b" + noise  # a frame that never ends: abandoned by the next start byte
    with MllpClient(mllp.port, timeout=10) as client:
        client.send_raw(noise + b"\x0b" + PROBE + b"\x1c\x0d")
        assert _acks_until_probe(client) == []


def _base(segment_name: str, control_id: str) -> str:
    """A valid message holding the segment, in v2.5.1 (ERR-2 in the ACK)."""
    if segment_name == "IPC":
        return omi_order(control_id, ipcs=[{1: "ACC1", 2: "RP1", 3: "1.2.3.5", 4: "SPS1", 5: "MR", 9: "MR01"}])
    if segment_name == "MRG":
        return adt(control_id, "A40", pid={3: "P1^^^H", 5: "A^B"}, mrg={1: "P2^^^H"})
    return orm_new_order(control_id, study_uid="1.2.3.4").replace("|2.3.1", "|2.5.1", 1)


def _set_component(text: str, name: str, number: int, component: int, value: str) -> str:
    lines = text.split("\r")
    index = next(i for i, line in enumerate(lines) if line.startswith(name + "|"))
    fields = lines[index].split("|")
    fields += [""] * (number + 1 - len(fields))
    parts = fields[number].split("~")[0].split("^")
    parts += [""] * (component - len(parts))
    parts[component - 1] = value
    fields[number] = "^".join(parts)
    lines[index] = "|".join(fields)
    return "\r".join(lines)


# every value the door checks, with its size: (segment, field, component, size, ERR-2)
CHECKED = [(s, f, c, rule.size, f"{s}^1^{f}^{c}") for (s, f, c), rule in VALUES.items()] + [
    (s, f, 2 if kind == "XCN" else 1, 64, f"{s}^1^{f}") for (s, f), (_, kind) in PERSON_NAMES.items()
]


def _refused_ae_102_at(mllp, text: str, location: str) -> None:
    with MllpClient(mllp.port, timeout=10) as client:
        ack = client.exchange(text.encode("utf-8"))
    segments = {line.split("|")[0]: line.split("|") for line in ack.decode("ascii").split("\r") if line}
    assert segments["MSA"][1] == "AE", ack
    assert segments["ERR"][2] == location and segments["ERR"][3].startswith("102^"), ack
    _assert_no_half_order()


@settings(max_examples=60, deadline=5000, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(CHECKED), extra=st.integers(1, 300))
def test_any_checked_value_longer_than_its_vr_is_acked_ae_102_at_its_place(mllp, target, extra):
    name, number, component, size, location = target
    text = _set_component(_base(name, "LEN1"), name, number, component, "A" * (size + extra))
    _refused_ae_102_at(mllp, text, location)
    assert not ImagingOrder.objects.exists()


@settings(max_examples=60, deadline=5000, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(CHECKED), code=st.sampled_from([*range(0x20), 0x7F]), raw=st.booleans())
def test_any_control_character_in_a_checked_value_is_acked_ae_102_at_its_place(mllp, target, code, raw):
    name, number, component, _, location = target
    if raw and code in (0x0A, 0x0B, 0x0D, 0x1C):
        code = 0x01  # raw, these are segment and frame ends: the framing tests cover them
    control = chr(code) if raw else f"\\X{code:02X}\\"
    text = _set_component(_base(name, "CTL1"), name, number, component, f"A{control}B")
    where = location if location.count("^") == 3 else f"{location}^{component}"
    _refused_ae_102_at(mllp, text, where)
