"""One query shape, one SQL text: what lets PostgreSQL prepare the worklist
query once per connection (infra.db.prepared_rows) and SQLite's module reuse
its compiled statement."""

import pytest
from django.db import connection
from pydicom.dataset import Dataset

from infra.db import HeldConnections, compiled, prepared_rows
from ris.selectors.worklist import COLUMNS, worklist_steps
from tests.worklist_builders import schedule
from worklist.query import build_query

pytestmark = pytest.mark.django_db


def sql_of(top: dict, step: dict, stations: list[str] | None = None) -> str:
    identifier, item = Dataset(), Dataset()
    for keyword, value in top.items():
        setattr(identifier, keyword, value)
    for keyword, value in step.items():
        setattr(item, keyword, value)
    identifier.ScheduledProcedureStepSequence = [item]
    query = build_query(identifier, own_station_ae_titles=stations)
    return worklist_steps(query.condition).values_list(*COLUMNS).query.sql_with_params()[0]


def test_other_values_of_the_same_keys_give_the_same_sql_text():
    first = sql_of({"PatientName": "DOE*", "PatientID": "P1"}, {"Modality": "CT", "ScheduledStationAETitle": "C?01"})
    second = sql_of({"PatientName": "SMI*", "PatientID": "P2"}, {"Modality": "MR", "ScheduledStationAETitle": "M?02"})
    assert first == second


def test_a_star_pattern_is_one_pattern_parameter_whatever_its_length():
    assert sql_of({"PatientName": "*" * 14 + "#"}, {}) == sql_of({"PatientName": "*A*B*C*"}, {})


@pytest.mark.skipif(connection.vendor != "postgresql", reason="one array parameter is PostgreSQL's")
def test_lists_of_any_length_give_the_same_sql_text_on_postgresql():
    one = sql_of({"StudyInstanceUID": "1.2.3"}, {}, stations=["CT01"])
    three = sql_of({"StudyInstanceUID": "1.2.3\\1.2.4\\1.2.5"}, {}, stations=["CT01", "CT02", "CT03"])
    assert one == three and "= ANY(" in one


def test_prepared_rows_are_the_rows_the_orm_reads():
    schedule(sps_id="S1", patient_id="P1", station="CT01")
    schedule(sps_id="S2", patient_id="P2", station="CT02")
    identifier = Dataset()
    identifier.StudyInstanceUID = ""
    identifier.ScheduledProcedureStepSequence = [Dataset()]
    steps = worklist_steps(build_query(identifier, own_station_ae_titles=["CT01", "CT02"]).condition)
    assert prepared_rows(steps, COLUMNS) == list(steps.values(*COLUMNS))
    assert len(prepared_rows(steps, COLUMNS)) == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the listener's held connections are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_the_listeners_held_connections_read_the_rows_the_orm_reads():
    schedule(sps_id="S1", patient_id="P1", station="CT01")
    schedule(sps_id="S2", patient_id="P2", station="CT02")
    identifier = Dataset()
    identifier.StudyInstanceUID = ""
    identifier.PatientName = "*"
    identifier.ScheduledProcedureStepSequence = [Dataset()]
    query = build_query(identifier, own_station_ae_titles=["CT01", "CT02"])
    held = HeldConnections(size=1)
    try:
        first, again = list(query.rows(held)), list(query.rows(held))
    finally:
        held.close()
    assert first == again == list(worklist_steps(query.condition).values(*COLUMNS))
    assert [row["sps_id"] for row in first] == ["S1", "S2"]


def test_one_condition_is_compiled_once():
    identifier = Dataset()
    identifier.PatientID = "P1"
    one, other = (build_query(identifier).condition for _ in range(2))
    assert one is not other
    assert compiled(worklist_steps, one, COLUMNS) is compiled(worklist_steps, other, COLUMNS)
