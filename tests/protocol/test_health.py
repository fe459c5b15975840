import pytest

from tests.hl7_builders import orm_new_order
from tests.peers import MllpClient

pytestmark = pytest.mark.slow


def test_live_answers_without_login(client, db):
    assert client.get("/health/live").json() == {"status": "ok"}


def test_ready_reports_database_and_broker(client, db):
    response = client.get("/health/ready")
    body = response.json()
    assert set(body["checks"]) == {"database", "broker"}
    assert body["checks"]["database"] == "ok"
    assert response.status_code == (200 if body["checks"]["broker"] == "ok" else 503)


def test_ready_is_503_when_a_listener_port_is_closed(client, db, settings):
    settings.RIS_HEALTH_CHECK_LISTENERS = True
    settings.RIS_MLLP_PORT = 1  # nothing listens there
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["mllp"].startswith("error")


def test_metrics_count_hl7_messages_by_type_and_ack(client, mllp):
    with MllpClient(mllp.port) as peer:
        peer.exchange(orm_new_order("MET1"))
        peer.exchange(b"garbage")
    text = client.get("/metrics").content.decode()
    assert 'ris_hl7_messages_in_total{ack="AA",message_type="ORM^O01"}' in text
    assert 'ris_hl7_messages_in_total{ack="AR",message_type="unreadable"}' in text
    assert "ris_hl7_ack_seconds_bucket" in text
