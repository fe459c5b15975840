"""The modality registry at the door: who may associate, what each sees,
and the log of what each asked."""

import threading
import time

import pytest
from django.db import connection

from ris.services.stations import station_add
from tests.factories import TEST_ACTOR
from tests.peers import findscu
from tests.worklist_builders import schedule
from tests.worklist_peers import client_ae, identifiers, mwl_find, mwl_identifier, statuses
from worklist import query_log
from worklist.models import WorklistQueryLog
from worklist.registry import modality_register

pytestmark = pytest.mark.slow


def sps_ids(responses) -> list[str]:
    return [ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID for ds in identifiers(responses)]


def ask_all(port: int, calling_ae: str, station: str = "") -> list[str]:
    return sps_ids(
        mwl_find(
            port,
            mwl_identifier(step={"ScheduledStationAETitle": station, "ScheduledProcedureStepID": ""}),
            calling_ae=calling_ae,
        )
    )


@pytest.fixture
def two_stations(transactional_db):
    schedule(sps_id="CT1", station="CT01")
    schedule(sps_id="CT2", station="CT02")
    schedule(sps_id="MR1", station="MR01", modality="MR")


def test_unknown_calling_ae_is_refused_when_enforced(dicom, two_stations, settings):
    settings.RIS_MWL_REFUSE_UNKNOWN_AE = True
    assoc = client_ae("STRANGER").associate("127.0.0.1", dicom, ae_title="RIS")
    assert assoc.is_rejected
    assert assoc.acceptor.primitive.diagnostic == 0x03  # calling AE title not recognised


def test_findscu_from_unknown_ae_is_refused_when_enforced(dicom, two_stations, settings):
    settings.RIS_MWL_REFUSE_UNKNOWN_AE = True
    responses, proc = findscu(dicom, ["PatientID"], calling_ae="STRANGER")
    assert proc.returncode != 0
    assert "rejected" in (proc.stdout + proc.stderr).lower()
    assert responses == []


def test_known_ae_is_served_when_unknown_ones_are_refused(dicom, two_stations, settings):
    settings.RIS_MWL_REFUSE_UNKNOWN_AE = True
    modality_register(actor=TEST_ACTOR, ae_title="CT01")
    assert ask_all(dicom, "CT01") == ["CT1"]


def test_unknown_ae_is_served_everything_by_default(dicom, two_stations):
    assert sorted(ask_all(dicom, "STRANGER")) == ["CT1", "CT2", "MR1"]


def test_registered_ae_that_is_not_allowed_is_refused(dicom, two_stations):
    modality_register(actor=TEST_ACTOR, ae_title="CT01", allowed=False)
    assert client_ae("CT01").associate("127.0.0.1", dicom, ae_title="RIS").is_rejected


def test_empty_station_key_shows_the_calling_ae_its_own_steps(dicom, two_stations):
    modality_register(actor=TEST_ACTOR, ae_title="CT01")
    assert ask_all(dicom, "CT01") == ["CT1"]


def test_empty_station_key_shows_the_steps_of_its_configured_stations(dicom, two_stations):
    station_add(actor=TEST_ACTOR, ae_title="CT01", modality="CT")
    station_add(actor=TEST_ACTOR, ae_title="CT02", modality="CT")
    modality_register(actor=TEST_ACTOR, ae_title="CTCONSOLE", station_ae_titles=("CT01", "CT02"))
    assert sorted(ask_all(dicom, "CTCONSOLE")) == ["CT1", "CT2"]


def test_a_named_station_overrides_the_own_station_filter(dicom, two_stations):
    modality_register(actor=TEST_ACTOR, ae_title="CT01")
    assert ask_all(dicom, "CT01", station="MR01") == ["MR1"]


def test_own_station_filter_can_be_turned_off_per_ae(dicom, two_stations):
    modality_register(actor=TEST_ACTOR, ae_title="CT01", own_worklist_when_unspecified=False)
    assert sorted(ask_all(dicom, "CT01")) == ["CT1", "CT2", "MR1"]


def test_each_query_is_logged_with_keys_items_and_time(dicom, two_stations):
    modality_register(actor=TEST_ACTOR, ae_title="CT01")
    ask_all(dicom, "CT01")
    findscu(dicom, ["PatientID=NOBODY"], calling_ae="FINDSCU")
    assert query_log.writer.flush()  # written after the answers, in the background
    logs = {log.calling_ae_title: log for log in WorklistQueryLog.objects.all()}
    assert set(logs) == {"CT01", "FINDSCU"}
    assert logs["CT01"].items_returned == 1 and logs["CT01"].modality_ae is not None
    assert "ScheduledProcedureStepSequence/ScheduledStationAETitle=" in logs["CT01"].keys
    assert logs["FINDSCU"].items_returned == 0 and "PatientID=NOBODY" in logs["FINDSCU"].keys
    assert all(log.status == "0000" and log.duration_ms > 0 for log in logs.values())


def test_several_c_finds_on_one_association_are_answered_and_logged(dicom, two_stations):
    assoc = client_ae("CT01").associate("127.0.0.1", dicom, ae_title="RIS")
    from pynetdicom.sop_class import ModalityWorklistInformationFind

    found = []
    for sps in ("CT1", "CT2", "MR1"):
        asked = mwl_identifier(step={"ScheduledProcedureStepID": sps})
        found += [
            ds.ScheduledProcedureStepSequence[0].ScheduledProcedureStepID
            for status, ds in assoc.send_c_find(asked, ModalityWorklistInformationFind)
            if ds
        ]
    assoc.release()
    assert found == ["CT1", "CT2", "MR1"]
    assert query_log.writer.flush()
    assert WorklistQueryLog.objects.filter(calling_ae_title="CT01").count() == 3


def test_concurrent_associations_each_get_their_own_answer(dicom, transactional_db):
    for n in range(8):
        schedule(sps_id=f"S{n}", station=f"ST{n}")
    results, errors = {}, []

    def query(n: int) -> None:
        try:
            for _ in range(3):
                responses = mwl_find(
                    dicom,
                    mwl_identifier(step={"ScheduledStationAETitle": f"ST{n}", "ScheduledProcedureStepID": ""}),
                    calling_ae=f"ST{n}",
                )
                results.setdefault(n, []).append((statuses(responses), sps_ids(responses)))
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=query, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert results == {n: [([0xFF00, 0x0000], [f"S{n}"])] * 3 for n in range(8)}


@pytest.mark.skipif(not connection.settings_dict.get("OPTIONS", {}).get("pool"), reason="needs the connection pool")
def test_an_open_association_holds_no_pooled_connection_between_c_finds(dicom, two_stations):
    """Modalities keep associations open; each C-FIND borrows a connection and gives it back."""
    from pynetdicom.sop_class import ModalityWorklistInformationFind

    def in_use() -> int:
        stats = connection.pool.get_stats()
        return stats["pool_size"] - stats["pool_available"]

    before = in_use()
    assoc = client_ae("CT01").associate("127.0.0.1", dicom, ae_title="RIS")
    try:
        for _ in range(3):
            list(assoc.send_c_find(mwl_identifier({"PatientID": ""}), ModalityWorklistInformationFind))
        deadline = time.monotonic() + 2  # the query log is written just after the final response
        while in_use() > before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert in_use() == before
    finally:
        assoc.release()


def test_each_query_is_one_view_event_in_the_audit_trail_with_the_calling_ae(dicom, transactional_db):
    from ris.models import AuditEvent

    schedule(sps_id="CT1", station="CT01", patient_id="MWLAUD")
    assert ask_all(dicom, "CT01") == ["CT1"]
    assert query_log.writer.flush()
    (event,) = AuditEvent.objects.filter(door=AuditEvent.Door.DICOM)
    assert (event.actor, event.action, event.address, event.object_type) == ("CT01", "VIEW", "127.0.0.1", "worklist")
    assert "MWL C-FIND 0000: 1 item(s), patients MWLAUD" in event.detail
