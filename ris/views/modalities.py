"""The modality registry page: each AE's settings, its last worklist query,
and the latest queries (keys asked, items returned, time taken)."""

from django.shortcuts import render

from ris.selectors.modalities import modality_aes_with_last_query, worklist_queries_latest
from ris.views.access import requires


@requires("view_messages")
def modalities(request):
    context = {"modality_aes": modality_aes_with_last_query(), "queries": worklist_queries_latest()}
    return render(request, "ris/modalities.html", context)
