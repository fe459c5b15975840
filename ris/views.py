from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from ris.models import InboundMessage, ScheduledProcedureStep


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
