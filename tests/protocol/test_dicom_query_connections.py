"""The listener's held query connections (PostgreSQL): ended by the server
between two C-FINDs, the next C-FIND is still answered, on a new one."""

import pytest
from django.db import connection
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind

from infra.db import HeldConnections
from tests.worklist_builders import schedule


def _terminate_query_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [HeldConnections.APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def _find(assoc) -> tuple[int, list[str]]:
    identifier = Dataset()
    identifier.PatientID = ""
    identifier.ScheduledProcedureStepSequence = [Dataset()]
    answers = list(assoc.send_c_find(identifier, ModalityWorklistInformationFind))
    return answers[-1][0].Status, [str(ds.PatientID) for _, ds in answers if ds is not None]


def test_a_query_connection_the_server_ended_is_replaced_and_the_c_find_answered(dicom):
    if connection.vendor != "postgresql":
        pytest.skip("the held query connections are PostgreSQL's")
    schedule(patient_id="QC1", station="CT01")
    ae = AE(ae_title="CT01")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", dicom, ae_title="RIS")
    try:
        assert _find(assoc) == (0x0000, ["QC1"])
        assert _terminate_query_connections() == 1
        assert _find(assoc) == (0x0000, ["QC1"])
        assert _find(assoc) == (0x0000, ["QC1"])
    finally:
        assoc.release()
