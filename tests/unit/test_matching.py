import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from worklist.matching import (
    InvalidKey,
    glob_pattern,
    like_pattern,
    match_date_and_time,
    match_person_name,
    match_text,
    match_uid_list,
    match_wildcard,
)


def test_universal_values_add_no_condition():
    assert match_text("f", "") is None
    assert match_text("f", "*") is None
    assert match_uid_list("f", []) is None


def test_trailing_star_is_a_prefix_match():
    assert dict(match_wildcard("f", "DOE*").children) == {"f__dicom_wildcard": "DOE*"}
    assert dict(match_wildcard("f", "DOE*", ignore_case=True).children) == {"f__istartswith": "DOE"}


def test_question_mark_and_inner_star_become_a_database_pattern():
    assert dict(match_wildcard("f", "D?E*X").children) == {"f__dicom_wildcard": "D?E*X"}


def test_runs_of_stars_collapse_to_one():
    assert dict(match_wildcard("f", "*" * 14 + "#").children) == {"f__dicom_wildcard": "*#"}
    assert dict(match_wildcard("f", "A**B***").children) == {"f__dicom_wildcard": "A*B*"}


def test_a_pattern_longer_than_any_valid_value_is_an_invalid_key():
    with pytest.raises(InvalidKey):
        match_wildcard("f", "A?" * 100)


def test_like_and_glob_patterns_escape_their_own_wildcards():
    assert like_pattern("50%_a\\b*?") == "50\\%\\_a\\\\b%_"
    assert glob_pattern("[x]*?") == "[[]x]*?"


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


def test_only_stars_are_universal():
    assert match_text("f", "**") is None
    assert match_text("f", "*A*") is not None


def test_date_range_with_a_single_time_matches_each_on_its_own(settings):
    settings.TIME_ZONE = "UTC"
    q = match_date_and_time("start", "20261120-20261126", "0800")
    lookups = dict(child for child in q.children if isinstance(child, tuple))
    assert lookups["start__gte"] == dt.datetime(2026, 11, 20, tzinfo=ZoneInfo("UTC"))
    assert lookups["start__time__gte"] == dt.time(8)
    assert lookups["start__time__lte"] == dt.time(8, 0, 59, 999999)


def test_single_date_with_a_time_range_is_a_period_of_that_day(settings):
    settings.TIME_ZONE = "UTC"
    q = dict(match_date_and_time("start", "20261126", "1200-").children)
    assert q["start__gte"] == dt.datetime(2026, 11, 26, 12, tzinfo=ZoneInfo("UTC"))
    assert q["start__lte"] == dt.datetime(2026, 11, 26, 23, 59, 59, 999999, tzinfo=ZoneInfo("UTC"))


def test_time_alone_matches_the_time_of_day():
    q = dict(match_date_and_time("start", "", "0900-1000").children)
    assert q == {"start__time__gte": dt.time(9), "start__time__lte": dt.time(10, 0, 59, 999999)}


def test_person_name_groups_match_their_own_columns(settings):
    settings.RIS_MWL_NAME_IGNORE_CASE = False
    q = match_person_name(("alpha", "ideo", "phon"), "=山田*")
    assert dict(q.children) == {"ideo__dicom_wildcard": "山田*"}


def test_whole_name_column_matches_its_alphabetic_group_before_other_groups(settings):
    settings.RIS_MWL_NAME_IGNORE_CASE = True
    q = match_person_name(("referring",), "WHO^DOC?OR")
    assert q.connector == "OR"
    assert q.children == [("referring__dicom_iwildcard", "WHO^DOC?OR"), ("referring__dicom_iwildcard", "WHO^DOC?OR=*")]
