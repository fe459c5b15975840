"""Who may use the DICOMweb worklist services: the project's one policy for
HTTP (settings REST_FRAMEWORK: API token, session or Basic, each attempt
throttled), and the capability of the role."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, IsAuthenticated

from ris.roles import permission


class HasWorklistCapability(IsAuthenticated):
    """Searches and reads show patient data (`view_patients`); creating and
    changing a performed step or a workitem moves exams (`change_step_status`)."""

    message = "Your role does not allow this."

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        capability = "view_patients" if request.method in SAFE_METHODS else "change_step_status"
        return bool(request.user.has_perm(permission(capability)))
