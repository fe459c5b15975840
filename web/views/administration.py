"""Users and roles for the administrator role, without Django staff rights
(capability `manage_users`): create a user with roles, title and
credentials; change them; deactivate or activate; set a new password;
change what a role may do. Each POST calls one service in ris/services/users.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ris.actors import request_actor
from ris.exceptions import InvalidInput
from ris.models import StaffProfile
from ris.services import users as services
from web.access import requires
from web.admin_forms import CAPABILITY_LABELS, NewPersonForm, PasswordForm, PersonForm, RoleForm


@requires("manage_users")
def user_list(request: HttpRequest) -> HttpResponse:
    show = request.GET.get("show", "active")
    people = get_user_model().objects.prefetch_related(Prefetch("groups", queryset=Group.objects.order_by("name")))
    people = people.select_related("staff_profile").order_by("username")
    if show == "active":
        people = people.filter(is_active=True)
    return render(request, "web/administration/users.html", {"people": people, "show": show})


@requires("manage_users")
def user_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk) if pk else None
    form_class = PersonForm if user else NewPersonForm
    form = form_class(request.POST or None, initial=_initial(user) if user else None)
    if user is not None:
        form.fields["username"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            user = _save(request, user, form)
        except InvalidInput as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, str(refusal))
        else:
            messages.success(request, _("User %(name)s saved.") % {"name": user.get_username()})
            return redirect("admin_users")
    return render(request, "web/administration/user_edit.html", {"form": form, "person": user})


def _save(request: HttpRequest, user, form: PersonForm):
    actor = request_actor(request)
    if user is None:
        return services.user_create(person=form.person(), password=form.cleaned_data["password"], actor=actor)
    return services.user_update(user=user, person=form.person(), actor=actor)


def _initial(user) -> dict:
    profile = StaffProfile.objects.filter(user=user).first()
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "title": profile.title if profile else "",
        "credentials": profile.credentials if profile else "",
        "roles": list(user.groups.all()),
    }


@requires("manage_users")
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_password(user=user, password=form.cleaned_data["password"], actor=request_actor(request))
        except InvalidInput as refusal:
            form.add_error("password", str(refusal))
        else:
            messages.success(request, _("New password set for %(name)s.") % {"name": user.get_username()})
            return redirect("admin_users")
    return render(request, "web/administration/user_password.html", {"form": form, "person": user})


@require_POST
@requires("manage_users")
def user_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.user_set_active(user=user, active=active, actor=request_actor(request))
    except InvalidInput as refusal:
        messages.error(request, str(refusal))
    else:
        text = _("%(name)s can log in again.") if active else _("%(name)s can no longer log in.")
        messages.success(request, text % {"name": user.get_username()})
    return redirect("admin_users")


@requires("manage_users")
def role_list(request: HttpRequest) -> HttpResponse:
    roles = Group.objects.prefetch_related("permissions").order_by("name")
    table = [(role, [CAPABILITY_LABELS.get(p.codename, p.name) for p in role.permissions.all()]) for role in roles]
    return render(request, "web/administration/roles.html", {"table": table})


@requires("manage_users")
def role_edit(request: HttpRequest, pk: int) -> HttpResponse:
    role = get_object_or_404(Group, pk=pk)
    initial = {"capabilities": list(role.permissions.values_list("codename", flat=True))}
    form = RoleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.role_set_capabilities(
            role=role, capabilities=form.cleaned_data["capabilities"], actor=request_actor(request)
        )
        messages.success(request, _("Role %(name)s saved.") % {"name": role.name})
        return redirect("admin_roles")
    return render(request, "web/administration/role_edit.html", {"form": form, "role": role})
