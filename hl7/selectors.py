"""Reads of the inbound message log, for its pages and the patient's page."""

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from hl7.models import InboundMessage
from ris.models import Patient


def patient_messages(patient: Patient) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(order__patient=patient).order_by("-received_at")


def inbound_messages(
    *, status: str = "", message_type: str = "", sender: str = "", text: str = ""
) -> QuerySet[InboundMessage]:
    rows = InboundMessage.objects.select_related("order").order_by("-received_at")
    if status:
        rows = rows.filter(status=status)
    if message_type:
        rows = rows.filter(message_type__icontains=message_type)
    if sender:
        rows = rows.filter(sending_application__icontains=sender)
    if text:
        rows = rows.filter(Q(control_id__icontains=text) | Q(order__accession_number__iexact=text))
    return rows


def inbound_unanswered_count(older_than: dt.timedelta = dt.timedelta(minutes=1)) -> int:
    """Messages stored and never answered (RECEIVED) for longer than a message takes: a crash left them."""
    cutoff = timezone.now() - older_than
    return InboundMessage.objects.filter(status=InboundMessage.Status.RECEIVED, received_at__lte=cutoff).count()


def inbound_recovery_failed_count() -> int:
    """Messages a crash left unanswered that failed again when processed anew (hl7/recovery.py)."""
    return InboundMessage.objects.filter(
        status=InboundMessage.Status.REJECTED, error__contains="recovered: left unanswered by a crash"
    ).count()
