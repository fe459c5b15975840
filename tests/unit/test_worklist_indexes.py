"""The common worklist queries can be served by indexes (PostgreSQL only).

With sequential scans disabled, the planner picks an index that serves the
query's condition; the test names the indexes that would (on an empty test
table the planner may prefer the single-column start index to the composite
one; on 100,000 rows it takes the composite, see docs/benchmarks.md).
Run with DATABASE_URL set to PostgreSQL.
"""

import pytest
from django.db import connection
from pydicom.dataset import Dataset

from ris.models import ScheduledProcedureStep
from ris.selectors.worklist import COLUMNS
from worklist.query import build_query

pytestmark = pytest.mark.django_db
STEP_START = "ris_scheduledprocedurestep_start"


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
@pytest.mark.parametrize(
    "top, step, indexes",
    [
        (
            {},
            {"ScheduledStationAETitle": "CT01", "ScheduledProcedureStepStartDate": "20261126"},
            ("sps_station_start", STEP_START),
        ),
        (
            {},
            {"Modality": "CT", "ScheduledProcedureStepStartDate": "20261120-20261126"},
            ("sps_modality_start", STEP_START),
        ),
        ({"PatientID": "P1"}, {}, ("patient_unique_id_per_issuer",)),
        ({"AccessionNumber": "A1"}, {}, ("ris_imagingorder_accession_number",)),
        ({"PatientName": "DOE*"}, {}, ("ris_patient_name_upper_like",)),
        ({"PatientName": "doe^john"}, {}, ("ris_patient_name_upper_like",)),
        ({"StudyInstanceUID": "1.2.3"}, {}, ("ris_requestedprocedure_study_instance_uid",)),
    ],
)
def test_common_query_is_served_by_an_index_on_its_keys(top, step, indexes):
    text = plan(top, step)
    assert "Seq Scan" not in text
    assert any(f"using {index}" in text for index in indexes), text
