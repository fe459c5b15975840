from rest_framework.permissions import SAFE_METHODS, BasePermission

from ris.roles import permission


class HasCapability(BasePermission):
    """Reads need the view's `read_capability`, changes its `write_capability`;
    `action_capabilities` names the capability of a particular action."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.user.has_perm(permission(capability_for(view, request)))


def capability_for(view, request) -> str:
    special = getattr(view, "action_capabilities", {}).get(getattr(view, "action", None))
    if special:
        return special
    return view.read_capability if request.method in SAFE_METHODS else view.write_capability
