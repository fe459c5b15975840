"""The database connection an MLLP connection holds for the one-statement
path: dropped by the server, the message is still answered (the reference
way), and the next one goes in one statement again on a new connection; its
statements (prepared, without a cursor) give what a cursor gives and raise
what a cursor raises."""

import datetime as dt

import psycopg
import psycopg.errors
import pytest
from django.db import connection

from hl7 import metrics
from infra.db import PREPARED_STATEMENTS, UNWAITED_STATEMENT_BYTES, HeldConnection
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
        # The listener may notice the end before this message or only by it
        # (then the reference way answers it): either way it is applied once.
        assert ack_segments(client.exchange(_order(2)))["MSA"][1] == "AA"
        after_drop = _applied_in_one_statement()
        assert ack_segments(client.exchange(_order(3)))["MSA"][1] == "AA"
        assert _applied_in_one_statement() == after_drop + 1  # one statement again, on a new connection
    assert sorted(ImagingOrder.objects.values_list("placer_number", flat=True)) == ["HCPL1", "HCPL2", "HCPL3"]


@pytest.fixture
def held(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("held connections are PostgreSQL's")
    database = HeldConnection()
    yield database
    database.close()


def test_values_come_back_as_a_cursor_gives_them(held):
    sent = [7, "Müller", None, dt.date(1970, 2, 15), dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), b"\x00\x0b", True]
    (row,) = held.execute("SELECT %s::int, %s::text, %s::text, %s::date, %s::timestamptz, %s::bytea, %s", sent)
    assert row == tuple(sent)
    assert held.execute("SELECT 1 WHERE false", []) == []


def test_a_statement_refused_on_its_data_raises_the_named_error_and_keeps_the_connection(held):
    held.execute("CREATE TEMP TABLE held_probe (id int PRIMARY KEY)", [])
    held.execute("INSERT INTO held_probe VALUES (%s)", [1])
    with pytest.raises(psycopg.errors.UniqueViolation):
        held.execute("INSERT INTO held_probe VALUES (%s)", [1])
    with pytest.raises(psycopg.errors.DivisionByZero):
        held.execute("SELECT id / 0 FROM held_probe WHERE id = %s", [1])
    assert held.usable
    assert held.execute("SELECT count(*) FROM held_probe", []) == [(1,)]  # a temporary table: the same session


def test_a_statement_larger_than_the_socket_buffer_is_sent_whole(held):
    assert held.execute("SELECT length(%s)", ["x" * 4_000_000]) == [(4_000_000,)]


def test_without_waiting_only_a_prepared_statement_that_fits_the_socket_buffer_is_sent(held):
    sql = "SELECT length(%s)"
    assert not held.send(sql, ["x"], without_waiting=True)  # nothing open yet
    assert held.execute(sql, ["x"]) == [(1,)]  # opened and prepared, waiting
    assert held.send(sql, ["x" * 100], without_waiting=True)
    while not held.gather():
        held.wait()
    assert held.rows() == [(100,)]
    large = "x" * (UNWAITED_STATEMENT_BYTES + 1)
    assert not held.send(sql, [large], without_waiting=True)  # could wait for the network: not sent
    assert held.execute(sql, [large]) == [(len(large),)]  # nothing of it was pending
    assert not held.send("SELECT 2 + %s", [1], without_waiting=True)  # a shape not prepared yet


def test_prepared_statements_beyond_the_limit_are_deallocated_oldest_first(held):
    for n in range(PREPARED_STATEMENTS + 10):
        assert held.execute(f"SELECT {n} + %s", [1]) == [(n + 1,)]
    assert held.execute("SELECT count(*) FROM pg_prepared_statements", []) == [(PREPARED_STATEMENTS,)]
    assert held.execute("SELECT 0 + %s", [1]) == [(1,)]  # prepared again after it was let go
