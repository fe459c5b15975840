import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from worklist.matching import InvalidKey, match_date_and_time, match_text, match_uid_list, match_wildcard


def test_universal_values_add_no_condition():
    assert match_text("f", "") is None
    assert match_text("f", "*") is None
    assert match_uid_list("f", []) is None


def test_trailing_star_is_a_prefix_match():
    assert dict(match_wildcard("f", "DOE*").children) == {"f__startswith": "DOE", "f__regex": "^DOE"}


def test_question_mark_and_inner_star_become_an_anchored_pattern():
    assert dict(match_wildcard("f", "D?E*X").children) == {"f__regex": "^D.E.*X$"}


def test_date_range_bounds_are_whole_days_in_the_site_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    q = dict(match_date_and_time("start", "20261120-20261126", "").children)
    berlin = ZoneInfo("Europe/Berlin")
    assert q["start__gte"] == dt.datetime(2026, 11, 20, tzinfo=berlin)
    assert q["start__lte"] == dt.datetime(2026, 11, 26, 23, 59, 59, 999999, tzinfo=berlin)


def test_date_and_time_ranges_form_one_continuous_period(settings):
    settings.TIME_ZONE = "UTC"
    q = dict(match_date_and_time("start", "20261120-20261126", "0800-1700").children)
    assert q["start__gte"] == dt.datetime(2026, 11, 20, 8, tzinfo=ZoneInfo("UTC"))
    assert q["start__lte"] == dt.datetime(2026, 11, 26, 17, 0, 59, 999999, tzinfo=ZoneInfo("UTC"))


def test_open_ended_date_range_has_one_bound():
    assert set(dict(match_date_and_time("start", "20261120-", "").children)) == {"start__gte"}


def test_bad_date_is_an_invalid_key():
    with pytest.raises(InvalidKey):
        match_date_and_time("start", "2026-11-20x", "")
