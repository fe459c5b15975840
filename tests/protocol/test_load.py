"""50 modality associations query while orders stream in over four MLLP
connections: no error, no lost and no duplicated order. (Figures: make bench.)"""

import pytest

from bench.load import run_load
from hl7.models import InboundMessage
from ris.models import ImagingOrder, ScheduledProcedureStep

pytestmark = pytest.mark.slow


def test_fifty_associations_and_four_order_streams_lose_and_duplicate_nothing(mllp, dicom):
    result = run_load(mllp.port, dicom, associations=50, queries=3, mllp_connections=4, orders_per_connection=25)
    assert result.errors == []
    assert len(result.acks) == 100
    assert set(result.acks.values()) == {"AA"}
    assert ImagingOrder.objects.count() == 100
    assert ScheduledProcedureStep.objects.count() == 100
    assert InboundMessage.objects.filter(status=InboundMessage.Status.APPLIED).count() == 100
    assert len(result.find_seconds) == 150
