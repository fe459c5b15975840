"""The common worklist queries can be served by indexes (PostgreSQL only).

With sequential scans disabled, a plan still shows one on a table only when
no index can serve the condition. Run with DATABASE_URL set to PostgreSQL.
"""
import pytest
from django.db import connection
from pydicom.dataset import Dataset

from ris.models import ScheduledProcedureStep
from ris.selectors.worklist import COLUMNS
from worklist.query import build_query

pytestmark = pytest.mark.django_db


def plan(top: dict, step: dict) -> str:
    identifier, item = Dataset(), Dataset()
    for keyword, value in top.items():
        setattr(identifier, keyword, value)
    for keyword, value in step.items():
        setattr(item, keyword, value)
    identifier.ScheduledProcedureStepSequence = [item]
    query = ScheduledProcedureStep.objects.filter(build_query(identifier).condition).order_by("start", "pk")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
    return query.values(*COLUMNS).explain()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="operator classes and plans of PostgreSQL")
@pytest.mark.parametrize("top, step", [
    ({}, {"ScheduledStationAETitle": "CT01", "ScheduledProcedureStepStartDate": "20261126"}),
    ({}, {"Modality": "CT", "ScheduledProcedureStepStartDate": "20261120-20261126"}),
    ({"PatientID": "P1"}, {}),
    ({"AccessionNumber": "A1"}, {}),
    ({"PatientName": "DOE*"}, {}),
    ({"PatientName": "doe^john"}, {}),
    ({"StudyInstanceUID": "1.2.3"}, {}),
])
def test_common_query_uses_no_sequential_scan(top, step):
    assert "Seq Scan" not in plan(top, step)
