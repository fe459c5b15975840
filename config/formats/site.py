"""What each language's format module takes from the settings."""

from django.conf import settings

DATE_FORMAT = settings.RIS_DATE_FORMAT
TIME_FORMAT = settings.RIS_TIME_FORMAT
DATETIME_FORMAT = settings.RIS_DATETIME_FORMAT
SHORT_DATE_FORMAT = settings.RIS_DATE_FORMAT
SHORT_DATETIME_FORMAT = settings.RIS_DATETIME_FORMAT
