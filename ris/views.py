from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from ris.models import InboundMessage, ScheduledProcedureStep
from ris.selectors.modalities import modality_aes_with_last_query, worklist_queries_latest


@login_required
def home(request):
    """Today's worklist and the latest messages: the first page anyone sees."""
    today = timezone.localdate()
    steps = (
        ScheduledProcedureStep.objects.filter(start__date=today)
        .select_related("requested_procedure__order__patient")
        .order_by("start")[:200]
    )
    recent = InboundMessage.objects.order_by("-received_at")[:20]
    return render(request, "ris/home.html", {"steps": steps, "messages_in": recent, "today": today})


@login_required
def modalities(request):
    """The modality registry, each AE's last worklist query, and the latest queries."""
    context = {"modality_aes": modality_aes_with_last_query(), "queries": worklist_queries_latest()}
    return render(request, "ris/modalities.html", context)
