"""The site's date and time formats for Django's own rendering (`{{ date }}`,
`|date` and `|time` without a format, form widgets), in every language the
pages are in: the settings' RIS_DATE_FORMAT, RIS_TIME_FORMAT and
RIS_DATETIME_FORMAT, so a page never mixes "Jan. 1, 1980" and "9:36 p.m."
with "2026-12-01 21:36". Input formats stay Django's for the language.
"""
