"""The database connection an MLLP connection holds for the one-statement
path: dropped by the server, the message is still answered (the reference
way), and the next one goes in one statement again on a new connection."""

import pytest
from django.db import connection

from hl7 import metrics
from infra.db import HeldConnection
from ris.models import ImagingOrder
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, ack_segments


def _applied_in_one_statement() -> float:
    return metrics.HL7_ONE_STATEMENT.labels("applied")._value.get()


def _drop_held_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [HeldConnection.APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def _order(n: int) -> str:
    return orm_new_order(f"HC{n}", patient_id=f"HCP{n}", placer=f"HCPL{n}", accession=f"HCA{n}")


def test_a_held_connection_the_database_dropped_is_opened_again_and_no_message_is_lost(mllp):
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's")
    with MllpClient(mllp.port) as client:
        before = _applied_in_one_statement()
        assert ack_segments(client.exchange(_order(1)))["MSA"][1] == "AA"
        assert _applied_in_one_statement() == before + 1
        assert _drop_held_connections() == 1
        assert ack_segments(client.exchange(_order(2)))["MSA"][1] == "AA"  # the reference way
        assert _applied_in_one_statement() == before + 1
        assert ack_segments(client.exchange(_order(3)))["MSA"][1] == "AA"  # one statement, a new connection
        assert _applied_in_one_statement() == before + 2
    assert sorted(ImagingOrder.objects.values_list("placer_number", flat=True)) == ["HCPL1", "HCPL2", "HCPL3"]
