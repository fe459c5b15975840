"""The audit message (DICOM PS3.15 A.5) and its syslog frame (RFC 5424), built
from plain records: no database, no socket."""

import datetime as dt
from xml.etree import ElementTree as ET

import pytest

from infra.atna import AuditEntry, audit_message_xml
from infra.syslog import BOM, parse_target, syslog_message

AT = dt.datetime(2026, 12, 1, 21, 36, 5, 123000, tzinfo=dt.UTC)


def _entry(**changes) -> AuditEntry:
    values = {"action": "VIEW", "actor": "rita", "person": True, "door": "FHIR", "address": "10.1.2.3"}
    return AuditEntry(**{"at": AT, "detail": "GET x", **values, **changes})


@pytest.mark.parametrize(
    "action,code,event",
    [
        ("VIEW", "R", "110110"),
        ("CREATE", "C", "110110"),
        ("CHANGE", "U", "110110"),
        ("DELETE", "D", "110110"),
        ("QUERY", "E", "110112"),
        ("EXPORT", "R", "110106"),
    ],
)
def test_each_action_has_its_event_action_code_and_event_id(action, code, event):
    message = ET.fromstring(audit_message_xml(_entry(action=action), source_id="RIS"))
    identification = message.find("EventIdentification")
    assert identification.get("EventActionCode") == code
    assert identification.find("EventID").get("csd-code") == event
    assert identification.get("EventDateTime") == "2026-12-01T21:36:05.123Z"


def test_the_patient_is_a_participant_object_with_its_identifier_and_issuer():
    message = ET.fromstring(audit_message_xml(_entry(patient_id="PAT1^^^HOSP"), source_id="RIS", site_id="RAD"))
    patient = message.find("ParticipantObjectIdentification")
    assert patient.attrib == {
        "ParticipantObjectID": "PAT1^^^HOSP",
        "ParticipantObjectTypeCode": "1",
        "ParticipantObjectTypeCodeRole": "1",
    }
    assert message.find("AuditSourceIdentification").attrib == {"AuditSourceID": "RIS", "AuditEnterpriseSiteID": "RAD"}


def test_the_syslog_frame_is_rfc_5424_with_the_atna_msgid():
    frame = syslog_message(b"<AuditMessage/>", app_name="RIS", msg_id="IHE+RFC-3881", at=AT)
    header, _, payload = frame.partition(BOM)
    pri_version, stamp, _host, app, procid, msgid, structured = header.decode().split(" ")[:7]
    assert (pri_version, stamp, app, procid, msgid, structured) == (
        "<85>1",
        "2026-12-01T21:36:05.123Z",
        "RIS",
        "-",
        "IHE+RFC-3881",
        "-",
    )
    assert payload == b"<AuditMessage/>"


@pytest.mark.parametrize("url", ["syslog://host:514", "udp://host", "tcp://:601", "tls://host:port"])
def test_a_syslog_target_that_is_not_understood_is_refused(url):
    with pytest.raises(ValueError):
        parse_target(url)


def test_no_syslog_target_is_none():
    assert parse_target("") is None and parse_target("tls://[::1]:6514").host == "::1"
