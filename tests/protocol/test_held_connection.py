"""The database connection an MLLP connection holds for the one-statement
path: dropped by the server, the message is still answered (the reference
way), and the next one goes in one statement again on a new connection; its
statements (prepared, without a cursor) give what a cursor gives and raise
what a cursor raises."""

import datetime as dt
import time

import psycopg
import psycopg.errors
import pytest
from django.db import connection

from hl7 import group_commit, metrics
from infra.db import PREPARED_STATEMENTS, HeldConnection
from ris.models import ImagingOrder
from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient, ack_segments


def _applied_in_one_statement() -> float:
    return metrics.HL7_ONE_STATEMENT.labels("applied")._value.get()


def _drop_held_connections() -> int:
    """The listener's lane's, and any a first message holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name IN (%s, %s) AND datname = current_database()",
            [HeldConnection.APPLICATION_NAME, group_commit.APPLICATION_NAME],
        )
        return cursor.fetchone()[0]


def _order(n: int) -> str:
    return orm_new_order(f"HC{n}", patient_id=f"HCP{n}", placer=f"HCPL{n}", accession=f"HCA{n}")


def test_a_held_connection_the_database_dropped_is_opened_again_and_no_message_is_lost(mllp):
    if connection.vendor != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's")
    with MllpClient(mllp.port) as client:
        before = _applied_in_one_statement()
        for n in (1, 2):  # the first on a worker (the sender's rules read), the second on the loop's lane
            assert ack_segments(client.exchange(_order(n)))["MSA"][1] == "AA"
        assert _applied_in_one_statement() == before + 2
        assert _drop_held_connections() == 1  # the lane's: the first message's was closed after it
        # The listener may notice the end before this message or only by it
        # (then the reference way answers it): either way it is applied once.
        assert ack_segments(client.exchange(_order(3)))["MSA"][1] == "AA"
        after_drop = _applied_in_one_statement()
        assert ack_segments(client.exchange(_order(4)))["MSA"][1] == "AA"
        assert _applied_in_one_statement() == after_drop + 1  # one statement again, on a new connection
    assert sorted(ImagingOrder.objects.values_list("placer_number", flat=True)) == [f"HCPL{n}" for n in (1, 2, 3, 4)]


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


def _together(held: HeldConnection, statements: list[tuple[str, list]]):
    """Sent together and gathered, as the MLLP loop does it, with a thread's waits."""
    held.send_together(statements)
    while held.flush():
        time.sleep(0.001)
    while not held.gather():
        held.wait()
    return held.together()


def test_statements_sent_together_are_one_transaction_and_new_shapes_are_prepared_on_the_way(held):
    with pytest.raises(psycopg.OperationalError):  # not connected yet: nothing sent
        held.send_together([("SELECT %s::int", [1])])
    held.connect()
    held.execute("CREATE TEMP TABLE together_probe (id int PRIMARY KEY)", [])
    insert = "INSERT INTO together_probe VALUES (%s) RETURNING id, pg_current_xact_id()::text"
    answers, commit_error = _together(held, [(insert, [1]), (insert, [2]), ("SELECT %s::text", ["x"])])
    assert commit_error is None
    (one, xact), (two, same_xact) = answers[0][0], answers[1][0]
    assert (one, two, answers[2]) == (1, 2, [("x",)])
    assert xact == same_xact  # one transaction: one commit for both
    assert held.execute("SELECT count(*) FROM together_probe", []) == [(2,)]


def test_a_statement_that_fails_among_others_raises_its_own_error_and_rolls_back_all(held):
    held.connect()
    held.execute("CREATE TEMP TABLE together_probe (id int PRIMARY KEY)", [])
    held.execute("INSERT INTO together_probe VALUES (%s)", [1])
    insert = "INSERT INTO together_probe VALUES (%s)"
    answers, commit_error = _together(held, [(insert, [2]), (insert, [1]), (insert, [3])])
    assert commit_error is None
    assert answers[0] is None and answers[2] is None  # not applied: to send again
    assert isinstance(answers[1], psycopg.errors.UniqueViolation)
    assert held.usable
    assert held.execute("SELECT array_agg(id) FROM together_probe", []) == [([1],)]


def test_a_commit_refused_by_a_deferred_constraint_names_no_statement(held):
    held.connect()
    held.execute("CREATE TEMP TABLE together_parent (id int PRIMARY KEY)", [])
    held.execute(
        "CREATE TEMP TABLE together_child (id int PRIMARY KEY,"
        " parent int REFERENCES together_parent DEFERRABLE INITIALLY DEFERRED)",
        [],
    )
    answers, commit_error = _together(
        held,
        [("INSERT INTO together_parent VALUES (%s)", [1]), ("INSERT INTO together_child VALUES (%s, %s)", [1, 99])],
    )
    assert answers == [None, None]
    assert isinstance(commit_error, psycopg.errors.ForeignKeyViolation)
    assert held.execute("SELECT count(*) FROM together_parent", []) == [(0,)]


def test_statements_sent_together_larger_than_the_socket_buffer_are_sent_whole(held):
    held.connect()
    answers, _ = _together(held, [("SELECT length(%s)", ["x" * 2_000_000]) for _ in range(3)])
    assert answers == [[(2_000_000,)]] * 3


def test_prepared_statements_beyond_the_limit_are_deallocated_oldest_first(held):
    for n in range(PREPARED_STATEMENTS + 10):
        assert held.execute(f"SELECT {n} + %s", [1]) == [(n + 1,)]
    assert held.execute("SELECT count(*) FROM pg_prepared_statements", []) == [(PREPARED_STATEMENTS,)]
    assert held.execute("SELECT 0 + %s", [1]) == [(1,)]  # prepared again after it was let go


def test_prepared_statements_sent_together_beyond_the_limit_are_deallocated_with_the_next(held):
    held.connect()
    for n in range(PREPARED_STATEMENTS + 10):
        answers, _ = _together(held, [(f"SELECT {n} + %s", [1])])
        assert answers == [[(n + 1,)]]
    _together(held, [("SELECT 1 + %s", [1])])
    assert held.execute("SELECT count(*) FROM pg_prepared_statements", []) == [(PREPARED_STATEMENTS,)]
