"""Identifiers the RIS makes."""

import uuid

from django.conf import settings


def new_uid() -> str:
    """A DICOM UID. Under the default root 2.25 it is the UUID-derived form
    of PS3.5 B.2; under an organisation's root, the UUID as decimal suffix."""
    root = settings.RIS_UID_ROOT.rstrip(".")
    uid = f"{root}.{uuid.uuid4().int}"
    return uid[:64]
