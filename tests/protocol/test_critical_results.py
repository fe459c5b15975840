"""A critical finding reaches the EHR flagged over HL7 (a strict MLLP
listener; OBX-8 read with hl7apy) and FHIR (an HTTP server; resources
validated with fhir.resources R4B); left unacknowledged past its time it
escalates through the periodic task, and the communication record stops it."""

import time

import pytest
from django.test import override_settings
from django.utils import timezone
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from ris import tasks
from ris.models import CriticalResult, Destination, OutboundMessage
from ris.services.critical_results import critical_result_record
from ris.services.outbox import outbox_deliver
from ris.states import CriticalCategory
from tests.factories import TEST_ACTOR, placed_order, radiologist, signed_final_report
from tests.fhir_server import FakeFhirServer
from tests.strict_ehr import StrictEhr

pytestmark = pytest.mark.slow
SHORT = {"CRITICAL": 0.02, "URGENT": 24 * 60, "UNEXPECTED": 7 * 24 * 60}  # critical: 1.2 s


@pytest.fixture
def ehr():
    server = StrictEhr()
    yield server
    server.stop()


@pytest.fixture
def fhir_server():
    server = FakeFhirServer()
    yield server
    server.stop()


def _hl7_destination(port: int, events: list[str]) -> Destination:
    return Destination.objects.create(
        name=f"EHR {port} {events[0]}",
        kind=Destination.Kind.HL7_MLLP,
        host="127.0.0.1",
        port=port,
        timeout_seconds=30,  # the strict listener reads with hl7apy, slow on a loaded machine
        events=events,
    )


def _sign_critical(category=CriticalCategory.CRITICAL):
    procedure = placed_order().procedures.get()
    return signed_final_report(
        procedure=procedure, findings="Subdural bleed.", impression="Bleed.", critical_category=category
    )


def _observations(message: str):
    parsed = parse_message(message, find_groups=True, validation_level=VALIDATION_LEVEL.STRICT)
    group = parsed.oru_r01_patient_result.oru_r01_order_observation
    return group, group.children.get("ORU_R01_OBSERVATION")


def _record(result):
    return critical_result_record(
        result=result,
        recorded_by=radiologist(),
        recipient_name="Dr Cuddy",
        recipient_role="ward physician",
        method=CriticalResult.Method.PHONE,
        communicated_at=timezone.now(),
        read_back=True,
        actor=TEST_ACTOR,
    )


def test_a_critical_report_reaches_the_strict_ehr_with_obx_8_aa(transactional_db, ehr):
    destination = _hl7_destination(ehr.port, ["report"])
    _sign_critical()
    assert outbox_deliver(destination_id=destination.pk) == 1
    assert ehr.refused == []
    [message] = ehr.received
    group, rows = _observations(message)
    text_rows = [row.obx for row in rows if row.obx.obx_2.value == "TX"]
    assert text_rows and {obx.obx_8.value for obx in text_rows} == {"AA"}
    assert group.nte.nte_3.value == "CRITICAL RESULT"


def test_an_urgent_report_reaches_the_ehr_as_abnormal_a_and_names_its_category(transactional_db, ehr):
    destination = _hl7_destination(ehr.port, ["report"])
    _sign_critical(CriticalCategory.URGENT)
    outbox_deliver(destination_id=destination.pk)
    group, rows = _observations(ehr.received[0])
    assert {row.obx.obx_8.value for row in rows if row.obx.obx_2.value == "TX"} == {"A"}
    assert group.nte.nte_3.value == "URGENT RESULT"


def test_a_critical_report_reaches_the_fhir_server_with_interpretation_and_flag(transactional_db, fhir_server):
    destination = Destination.objects.create(
        name="EHR FHIR", kind=Destination.Kind.FHIR, base_url=fhir_server.base_url, timeout_seconds=5
    )
    _sign_critical()
    assert outbox_deliver(destination_id=destination.pk) == 1
    [bundle] = fhir_server.bundles()
    Bundle.model_validate(bundle)
    resources = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
    observation = Observation.model_validate(resources["Observation"])
    assert observation.interpretation[0].coding[0].code == "AA"
    assert Flag.model_validate(resources["Flag"]).status == "active"
    result = _record(CriticalResult.objects.get())
    assert outbox_deliver(destination_id=destination.pk) == 1
    closing = {e["resource"]["resourceType"]: e["resource"] for e in fhir_server.bundles()[1]["entry"]}
    assert Flag.model_validate(closing["Flag"]).status == "inactive"
    assert Communication.model_validate(closing["Communication"]).sent is not None
    assert not result.is_open


@override_settings(RIS_CRITICAL_RESULT_MINUTES=SHORT)
def test_an_unacknowledged_critical_result_escalates_after_its_time_and_the_record_stops_it(transactional_db, ehr):
    alerts = _hl7_destination(ehr.port, ["critical_overdue"])
    _sign_critical()
    result = CriticalResult.objects.get()
    assert tasks.critical_results_escalate() == []  # not yet due
    time.sleep(max(0.0, (result.due_at - timezone.now()).total_seconds()) + 0.2)
    assert tasks.critical_results_escalate() == [result.pk]
    assert tasks.critical_results_escalate() == []  # the same escalation is not sent twice
    assert outbox_deliver(destination_id=alerts.pk) == 1
    assert ehr.refused == []
    [escalation] = ehr.received
    _group, rows = _observations(escalation)
    assert "CRITICAL RESULT NOT YET COMMUNICATED" in escalation
    assert {row.obx.obx_8.value for row in rows if row.obx.obx_2.value == "TX"} == {"AA"}
    _record(result)
    time.sleep(1.5)  # past the next escalation time
    assert tasks.critical_results_escalate() == []
    assert outbox_deliver(destination_id=alerts.pk) == 0
    assert OutboundMessage.objects.filter(event="critical_overdue").count() == 1
