"""The API tokens page: one's own tokens (an administrator: everyone's), each
revocable; a new token is shown once, right after it is issued."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ris.actors import request_actor
from ris.exceptions import NotFound
from ris.services.tokens import token_issue, token_revoke, tokens_of
from web.api.tokens import may_manage_all_tokens


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    everyone = may_manage_all_tokens(request.user)
    visible = tokens_of(user=request.user, everyone=everyone)  # type: ignore[arg-type]
    new_key = ""
    if request.method == "POST":
        actor = request_actor(request)
        if request.POST.get("action") == "issue":
            _, new_key = token_issue(actor=actor, user=request.user, name=request.POST.get("name", ""))  # type: ignore[arg-type]
        else:
            try:
                token_revoke(
                    actor=actor,
                    token_id=int(request.POST.get("token", "0") or 0),
                    visible=visible,
                    reason=f"revoked by {request.user.get_username()}",
                )
            except (NotFound, ValueError):
                messages.error(request, "No such token.")
            return redirect("token_list")
    context = {"tokens": visible[:500], "everyone": everyone, "new_key": new_key}
    return render(request, "web/tokens.html", context)
