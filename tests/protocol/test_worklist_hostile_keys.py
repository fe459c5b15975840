"""Keys a peer can send to hurt the worklist: a pattern that would backtrack,
values longer than their VR, bytes that are no text in the declared
character set, a sequence sent as text. Each gets its standard status
(PS3.4 K.4.1.1.4) before any database work, the other doors keep answering,
and a real modality's C-FIND keeps succeeding."""

from __future__ import annotations

import threading
import urllib.request

import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind

from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, findscu
from tests.worklist_builders import schedule
from tests.worklist_peers import mwl_find, mwl_identifier

pytestmark = pytest.mark.slow

UNABLE_TO_PROCESS, IDENTIFIER_DOES_NOT_MATCH = 0xC000, 0xA900
STARS = "*" * 14 + "#"


@pytest.fixture
def patients(transactional_db):
    # 16-character names: against `.*` fourteen times, a backtracking matcher
    # tries tens of millions of splits of each name before it gives up.
    for n in range(8):
        schedule(sps_id=f"S{n}", patient_id=f"P{n}", name=f"MUSTERMANN^ERI{n:02d}", station="CT01")


def modality_is_served(port: int) -> bool:
    """dcmtk's findscu, as a real modality asks: its steps come back, status success."""
    responses, proc = findscu(port, ["PatientName", "ScheduledProcedureStepSequence[0].ScheduledStationAETitle=CT01"])
    return proc.returncode == 0 and len(responses) > 0


def send_find(port: int, identifier: Dataset, syntax=ImplicitVRLittleEndian) -> list[tuple[int, Dataset | None]]:
    ae = AE(ae_title="HOSTILE")
    ae.add_requested_context(ModalityWorklistInformationFind, [syntax])
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 30
    assoc = ae.associate("127.0.0.1", port, ae_title="RIS")
    assert assoc.is_established
    try:
        return [(s.Status, ds) for s, ds in assoc.send_c_find(identifier, ModalityWorklistInformationFind) if s]
    finally:
        assoc.release()


def _health_answers(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/health/live", timeout=1) as response:
        return response.status == 200


def _mllp_answers(port: int) -> bool:
    with MllpClient(port, timeout=1) as peer:
        return b"MSA|" in peer.exchange(orm_new_order("STAR1"))


@pytest.mark.django_db(transaction=True)
def test_star_pattern_leaves_web_mllp_and_dicom_answering(dicom, mllp, live_server, patients):
    """Runs on the database the suite runs on (SQLite by default, PostgreSQL in CI)."""
    stop, answers = threading.Event(), []
    urllib.request.urlopen(f"{live_server.url}/health/live", timeout=30).close()  # first request loads the URLs
    with MllpClient(mllp.port) as peer:
        peer.exchange(orm_new_order("WARM1"))

    def hammer() -> None:
        while not stop.is_set():
            answers.append(mwl_find(dicom, mwl_identifier({"PatientName": STARS})))
            stop.wait(0.05)

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    try:
        assert _health_answers(live_server.url)  # each within its one-second timeout
        assert _mllp_answers(mllp.port)
        assert modality_is_served(dicom)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert answers and all(answer == [(0x0000, None)] for answer in answers)


def test_star_pattern_matches_what_it_means(dicom, patients):
    schedule(sps_id="HASH", name="MUSTERMANN^#", station="CT01")
    [(status, ds), (final, _)] = mwl_find(dicom, mwl_identifier({"PatientName": STARS}))
    assert (status, final) == (0xFF00, 0x0000)
    assert str(ds.PatientName) == "MUSTERMANN^#"


def test_sql_wildcards_in_a_key_are_literal_characters(dicom, transactional_db):
    schedule(sps_id="PCT", patient_id="100%_A")
    schedule(sps_id="OTHER", patient_id="100XYA")
    found = mwl_find(dicom, mwl_identifier({"PatientID": "100%_*"}, {"ScheduledProcedureStepID": ""}))
    assert [ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for s, ds in found if ds] == ["PCT"]


@pytest.mark.parametrize(
    "top, step",
    [
        ({"PatientID": "1" * 70000}, {}),  # LO of 70,000 characters (was A700 on PostgreSQL)
        ({"PatientID": "1" * 65}, {}),  # LO: 64
        ({"PatientName": "D" * 65 + "^JOHN"}, {}),  # PN: 64 per component group
        ({"PatientName": "DOE*=" + "山" * 65}, {}),
        ({"AccessionNumber": "A" * 17}, {}),  # SH: 16
        ({}, {"Modality": "C" * 17}),  # CS: 16
        ({}, {"ScheduledStationAETitle": "CT" * 9}),  # AE: 16
        ({}, {"ScheduledProcedureStepStartDate": "2026112"}),  # DA: YYYYMMDD
        ({}, {"ScheduledProcedureStepStartTime": "25:61"}),  # TM: HHMMSS
        ({"PatientBirthDate": "1970-13"}, {}),  # DA even as a return key
    ],
)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_key_its_vr_does_not_allow_is_unable_to_process_c000(dicom, patients, top, step):
    assert send_find(dicom, mwl_identifier(top, step)) == [(UNABLE_TO_PROCESS, None)]
    assert modality_is_served(dicom)


def _with_raw_name(raw: bytes, charset: str | list[str]) -> Dataset:
    identifier = mwl_identifier(charset=charset)
    identifier.add(DataElement(0x00100010, "PN", raw))
    return identifier


@pytest.mark.parametrize(
    "raw, charset",
    [
        (b"M\xc3(LLER*", "ISO_IR 192"),  # not UTF-8
        (b"\xff\xfe", "ISO_IR 192"),
        (b"\x1b$)C\xb1\xe8", ["", "ISO 2022 IR 87"]),  # Korean G1 escape, not declared
        (b"\x1b$B\xff\xff", ["", "ISO 2022 IR 87"]),  # declared escape, bytes that are not JIS X 0208
    ],
)
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_key_that_cannot_be_decoded_is_unable_to_process_c000(dicom, patients, raw, charset):
    assert send_find(dicom, _with_raw_name(raw, charset), ExplicitVRLittleEndian) == [(UNABLE_TO_PROCESS, None)]
    assert modality_is_served(dicom)


def test_decodable_keys_in_the_declared_sets_are_still_matched(dicom, transactional_db):
    schedule(sps_id="JP", name="YAMADA^TARO", ideographic="山田^太郎")
    raw = "=山田*".encode("iso2022_jp")
    found = send_find(dicom, _with_raw_name(raw, ["", "ISO 2022 IR 87"]), ExplicitVRLittleEndian)
    assert [status for status, _ in found] == [0xFF00, 0x0000]


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_step_sequence_sent_as_text_is_identifier_does_not_match_a900(dicom, patients, syntax):
    identifier = Dataset()
    identifier.PatientName = ""
    identifier.add(DataElement(0x00400100, "LO", "CT01"))
    assert send_find(dicom, identifier, syntax) == [(IDENTIFIER_DOES_NOT_MATCH, None)]
    assert modality_is_served(dicom)
