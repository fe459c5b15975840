import pytest

from ris.services.stations import station_add
from tests.factories import TEST_ACTOR
from worklist.registry import modality_policy, modality_register

pytestmark = pytest.mark.django_db


def test_unknown_ae_is_allowed_in_the_default_character_set_and_sees_every_station(settings):
    settings.RIS_MWL_CHARACTER_SET = "ISO_IR 100"
    policy = modality_policy(ae_title="STRANGER")
    assert (policy.is_known, policy.allowed, policy.character_set) == (False, True, "ISO_IR 100")
    assert policy.own_station_ae_titles is None


def test_unknown_ae_is_not_allowed_when_unknown_ones_are_refused(settings):
    settings.RIS_MWL_REFUSE_UNKNOWN_AE = True
    assert not modality_policy(ae_title="STRANGER").allowed


def test_registered_ae_without_stations_sees_its_own_ae_title():
    modality_register(actor=TEST_ACTOR, ae_title="CT01", character_set="\\ISO 2022 IR 87")
    policy = modality_policy(ae_title="CT01")
    assert policy.own_station_ae_titles == ("CT01",)
    assert policy.character_set == "\\ISO 2022 IR 87"


def test_registered_ae_sees_its_configured_stations():
    station_add(actor=TEST_ACTOR, ae_title="CT01", modality="CT")
    station_add(actor=TEST_ACTOR, ae_title="CT02", modality="CT")
    modality_register(actor=TEST_ACTOR, ae_title="CONSOLE", station_ae_titles=("CT01", "CT02"))
    assert sorted(modality_policy(ae_title="CONSOLE").own_station_ae_titles) == ["CT01", "CT02"]


def test_own_station_filter_off_means_no_station_limit():
    modality_register(actor=TEST_ACTOR, ae_title="CT01", own_worklist_when_unspecified=False)
    assert modality_policy(ae_title="CT01").own_station_ae_titles is None
