"""The modality registry page: each AE's settings, its last worklist query,
and the latest queries (keys asked, items returned, time taken). Access is
checked where it is routed (web/urls.py: capability `view_messages`); a list
of queries is not recorded in the audit trail."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ris.records import Actor
from worklist.registry_pages import modality_aes_with_last_query, worklist_queries_latest


def modalities(request: HttpRequest, *, actor: Actor) -> HttpResponse:
    context = {"modality_aes": modality_aes_with_last_query(), "queries": worklist_queries_latest()}
    return render(request, "worklist/modalities.html", context)
