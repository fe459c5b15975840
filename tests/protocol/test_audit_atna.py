"""The audit trail for a hospital's audit record repository (IHE ATNA): the
DICOM audit message XML export (PS3.15 A.5), and each event forwarded over
syslog (RFC 5424) by UDP, TCP and TLS to a small local syslog listener."""

from __future__ import annotations

import base64
import shutil
import socket
import ssl
import threading
from xml.etree import ElementTree as ET

import pytest

from ris.models import AuditEvent
from tests import factories as f
from tests.certificates import self_signed

BOM = b"\xef\xbb\xbf"


def _xml_of(syslog_message: bytes) -> ET.Element:
    header, _, xml = syslog_message.partition(BOM)
    assert header.startswith(b"<85>1 ") and b" IHE+RFC-3881 " in header  # authpriv.notice, version 1
    return ET.fromstring(xml)


def _participant(message: ET.Element, requestor: bool) -> ET.Element:
    wanted = "true" if requestor else "false"
    return next(p for p in message.iter("ActiveParticipant") if p.get("UserIsRequestor") == wanted)


@pytest.fixture
def patient_page(client):
    order = f.placed_order()
    client.force_login(f.user_with_role("scheduler", "sam"))
    return lambda: client.get(f"/patients/{order.patient_id}/"), order.patient


@pytest.mark.django_db
def test_the_atna_export_is_one_dicom_audit_message_per_event(client):
    order = f.placed_order()
    reader = f.user_with_role("radiologist", "rita")
    client.force_login(reader)
    client.get(f"/fhir/Patient/{order.patient_id}")
    client.get("/fhir/Patient", {"identifier": "NOBODY"})
    client.force_login(f.user_with_role("administrator", "ada"))
    response = client.get("/audit/export.xml", {"actor": "rita"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    messages = ET.fromstring(response.content).findall("AuditMessage")
    search, read = messages  # newest first
    event = read.find("EventIdentification")
    assert (event.get("EventActionCode"), event.get("EventOutcomeIndicator")) == ("R", "0")
    assert event.find("EventID").attrib == {
        "csd-code": "110110",
        "codeSystemName": "DCM",
        "originalText": "Patient Record",
    }
    requestor = _participant(read, requestor=True)
    assert (requestor.get("UserID"), requestor.get("NetworkAccessPointID")) == ("rita", "127.0.0.1")
    assert read.find("AuditSourceIdentification").get("AuditSourceID") == "RIS"
    patient = read.find("ParticipantObjectIdentification")
    assert (
        patient.get("ParticipantObjectID") == "PAT6001^^^HOSP" and patient.get("ParticipantObjectTypeCodeRole") == "1"
    )
    assert search.find("EventIdentification/EventID").get("csd-code") == "110112"  # a query
    query = next(
        o for o in search.iter("ParticipantObjectIdentification") if o.get("ParticipantObjectTypeCodeRole") == "24"
    )
    assert "GET /fhir/Patient?identifier=NOBODY" in base64.b64decode(query.find("ParticipantObjectQuery").text).decode()
    assert AuditEvent.objects.filter(action="EXPORT", actor="ada", detail__startswith="audit ATNA XML export").exists()


@pytest.mark.django_db(transaction=True)
def test_each_event_is_forwarded_over_udp(settings, patient_page):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(5)
        settings.RIS_AUDIT_SYSLOG = f"udp://127.0.0.1:{listener.getsockname()[1]}"
        get, patient = patient_page
        assert get().status_code == 200
        message = _xml_of(listener.recv(65536))
    assert _participant(message, requestor=True).get("UserID") == "sam"
    assert message.find("ParticipantObjectIdentification").get("ParticipantObjectID") == f"{patient.patient_id}^^^HOSP"


class StreamListener:
    """A syslog receiver over TCP (or TLS): reads octet-counted frames (RFC 5425)."""

    def __init__(self, context: ssl.SSLContext | None = None):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.context, self.frames = context, []
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.server.settimeout(10)
        connection, _ = self.server.accept()
        if self.context is not None:
            connection = self.context.wrap_socket(connection, server_side=True)
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
        connection.close()
        while data:
            length, _, rest = data.partition(b" ")
            self.frames.append(rest[: int(length)])
            data = rest[int(length) :]

    def wait(self) -> list[bytes]:
        self.thread.join(timeout=10)
        self.server.close()
        return self.frames


@pytest.mark.django_db(transaction=True)
def test_each_event_is_forwarded_over_tcp_with_octet_counting(settings, patient_page):
    listener = StreamListener()
    settings.RIS_AUDIT_SYSLOG = f"tcp://127.0.0.1:{listener.port}"
    get, _ = patient_page
    get()
    (frame,) = listener.wait()
    assert _participant(_xml_of(frame), requestor=True).get("UserID") == "sam"


@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    return self_signed(tmp_path, "syslog")


@pytest.mark.django_db(transaction=True)
def test_each_event_is_forwarded_over_tls_to_a_verified_repository(settings, patient_page, certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = StreamListener(context)
    settings.RIS_AUDIT_SYSLOG = f"tls://127.0.0.1:{listener.port}"
    settings.RIS_AUDIT_SYSLOG_CA = cert
    get, _ = patient_page
    get()
    (frame,) = listener.wait()
    assert _participant(_xml_of(frame), requestor=True).get("UserID") == "sam"


@pytest.mark.django_db(transaction=True)
def test_a_repository_that_is_down_costs_the_user_nothing(settings, patient_page):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.RIS_AUDIT_SYSLOG = f"tcp://127.0.0.1:{port}"  # nothing listens
    get, patient = patient_page
    assert get().status_code == 200
    assert AuditEvent.objects.filter(patient=patient, actor="sam").count() == 1  # kept in the trail
