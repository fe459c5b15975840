import pytest
from django.utils import timezone

from ris.services.stations import station_add
from tests.factories import TEST_ACTOR
from worklist.registry import ModalityPolicy, modality_register, worklist_query_record

pytestmark = pytest.mark.django_db


def test_modality_page_shows_each_ae_with_its_last_query(admin_client):
    station_add(actor=TEST_ACTOR, ae_title="CT01", modality="CT", location="ROOM 3")
    ct = modality_register(actor=TEST_ACTOR, ae_title="CT01", station_ae_titles=("CT01",))
    policy = ModalityPolicy("CT01", registered_id=ct.pk)
    worklist_query_record(
        policy=policy, at=timezone.now(), keys="PatientID=P7", items_returned=7, duration_ms=3.5, status=0
    )
    page = admin_client.get("/modalities/").content.decode()
    assert "CT01" in page and "ROOM 3" in page
    assert "<td>7</td>" in page and "PatientID=P7" in page


def test_modality_page_needs_a_login(client):
    assert client.get("/modalities/").status_code == 302


def test_admin_lists_the_registry_with_last_query(admin_client):
    ct = modality_register(actor=TEST_ACTOR, ae_title="MR02")
    worklist_query_record(
        policy=ModalityPolicy("MR02", registered_id=ct.pk),
        at=timezone.now(),
        keys="",
        items_returned=12,
        duration_ms=1.0,
        status=0,
    )
    page = admin_client.get("/admin/worklist/modalityae/").content.decode()
    assert "MR02" in page and "12" in page
    assert admin_client.get("/admin/worklist/worklistquerylog/").status_code == 200
