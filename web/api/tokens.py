"""API tokens over REST.

POST   /api/token/           username and password (and a name) for a new token, shown once
GET    /api/tokens/          one's own tokens; an administrator's: everyone's (?user=<name> narrows)
DELETE /api/tokens/{id}/     revoke a token (one's own; any, for an administrator)

A token lasts RIS_API_TOKEN_HOURS; a password change or a role taken away
revokes the user's tokens (ris/services/tokens.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ris.actors import request_actor
from ris.models import ApiToken, AuditEvent
from ris.services.login_throttle import login_check_allowed
from ris.services.tokens import token_issue, token_revoke, tokens_of
from web.api import serializers as s
from web.authentication import request_address


def may_manage_all_tokens(user: Any) -> bool:
    """Administrators (the role that reads the audit trail) see and revoke everyone's tokens."""
    return bool(user.is_superuser or user.has_perm("ris.view_audit"))


class CredentialsSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    name = serializers.CharField(required=False, allow_blank=True, default="", help_text="what the token is for")


class IssuedTokenSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    token = serializers.CharField(help_text="send it as the header Authorization: Token <token>; shown only now")
    expires_at = serializers.DateTimeField()


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    user = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "user", "prefix", "name", "created_at", "expires_at", "last_used_at", "revoked_at"]
        fields += ["revoked_reason"]
        read_only_fields = fields


class ThrottledTokenView(APIView):
    """POST username and password for a new token; failures count toward the login lockout."""

    authentication_classes: list[type] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        auth=[],
        operation_id="token_create",
        request=CredentialsSerializer,
        responses={200: IssuedTokenSerializer, **s.error_answers(400, 429)},
    )
    def post(self, request: Request) -> Response:
        data = s.valid(CredentialsSerializer, request.data)
        login_check_allowed(username=data["username"], address=request_address(request))
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": ["Unable to log in with the credentials given."]})
        request.user = user
        token, key = token_issue(actor=request_actor(request, AuditEvent.Door.API), user=user, name=data["name"])
        return Response({"id": token.pk, "token": key, "expires_at": token.expires_at})


class TokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[ApiToken]):
    """The tokens one holds (an administrator: everyone's); revoking keeps the row, ended."""

    serializer_class = ApiTokenSerializer
    permission_classes = [permissions.IsAuthenticated]
    queryset = ApiToken.objects.none()

    def get_queryset(self) -> QuerySet[ApiToken]:
        rows = tokens_of(user=self.request.user, everyone=may_manage_all_tokens(self.request.user))  # type: ignore[arg-type]
        owner = self.request.query_params.get("user")
        return rows.filter(user__username=owner) if owner else rows

    @extend_schema(responses={204: None, **s.error_answers(404)})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token_revoke(
            actor=request_actor(request, AuditEvent.Door.API),
            token_id=int(kwargs["pk"]),
            visible=self.get_queryset(),
            reason=f"revoked by {request.user.get_username()}",
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
