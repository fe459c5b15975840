"""The administration pages' forms: a person with roles, a new password, a
role's capabilities, a room's week, blocked time. They decode and check
what people type, with messages people read; the services do the rest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

from ris.models import BlockedTime, OpeningHours
from ris.services.opening_hours import DayHours
from ris.services.users import PersonData
from web.forms import DATETIME, Styled

WEEKDAYS = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class PersonForm(Styled, forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    first_name = forms.CharField(label=_("Given name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Family name"), max_length=150, required=False)
    email = forms.EmailField(label=_("E-mail"), required=False)
    title = forms.CharField(
        label=_("Title"), max_length=32, required=False, help_text=_("Shown before the name, e.g. Dr.")
    )
    credentials = forms.CharField(
        label=_("Credentials"),
        max_length=64,
        required=False,
        help_text=_("Shown after the name on reports, e.g. MD, FRCR."),
    )
    roles = forms.ModelMultipleChoiceField(
        label=_("Roles"),
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    def person(self) -> PersonData:
        data = self.cleaned_data
        return PersonData(
            username=data["username"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            title=data["title"],
            credentials=data["credentials"],
            roles=tuple(role.pk for role in data["roles"]),
        )


class NewPersonForm(PersonForm):
    password = forms.CharField(
        label=_("Initial password"), strip=False, widget=forms.PasswordInput, help_text=_("At least 8 characters.")
    )


class PasswordForm(Styled, forms.Form):
    password = forms.CharField(label=_("New password"), strip=False, widget=forms.PasswordInput)
    again = forms.CharField(label=_("The same again"), strip=False, widget=forms.PasswordInput)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("password") != data.get("again"):
            self.add_error("again", _("The two passwords differ."))
        return data


class RoleForm(Styled, forms.Form):
    capabilities = forms.MultipleChoiceField(
        label=_("Capabilities"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        capabilities = Permission.objects.filter(content_type__app_label="ris", content_type__model="capability")
        field = self.fields["capabilities"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(p.codename, CAPABILITY_LABELS.get(p.codename, p.name)) for p in capabilities.order_by("id")]


# The capabilities as the roles page names them (ris/models/access.py declares them).
CAPABILITY_LABELS = {
    "view_patients": _("View patients, orders and exams"),
    "enter_orders": _("Enter orders by hand"),
    "book_appointments": _("Book, move and resize appointments"),
    "manage_resources": _("Manage rooms, opening hours, blocked time and the procedure catalogue"),
    "view_status_board": _("View the technologists' status board"),
    "change_step_status": _("Check in patients and change exam status"),
    "view_messages": _("View the HL7 message log"),
    "view_audit": _("View and export the audit log"),
    "write_reports": _("Write, sign, correct and add to reports"),
    "configure_interfaces": _("Reprocess and resend messages; edit destinations, senders and modalities"),
    "manage_users": _("Create and deactivate users, reset passwords, assign roles"),
}


class DayForm(forms.Form):
    """One weekday of a room's week."""

    is_open = forms.BooleanField(label=_("Open"), required=False)
    all_day = forms.BooleanField(label=_("24 h"), required=False)
    opens = forms.TimeField(label=_("Opens"), required=False, widget=TIME)
    closes = forms.TimeField(label=_("Closes"), required=False, widget=TIME)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("is_open") and not data.get("all_day"):
            if data.get("opens") is None:
                self.add_error("opens", _("When does it open?"))
            if data.get("closes") is None:
                self.add_error("closes", _("When does it close?"))
        return data

    def day(self, weekday: int) -> DayHours:
        data = self.cleaned_data
        if not data.get("is_open"):
            return DayHours(weekday)
        if data.get("all_day"):
            return DayHours(weekday, all_day=True)
        return DayHours(weekday, data["opens"], data["closes"])


WeekFormSet = forms.formset_factory(DayForm, extra=0, min_num=7, max_num=7, validate_min=True, validate_max=True)


def week_initial(week: list[DayHours]) -> list[dict[str, Any]]:
    return [{"is_open": day.is_open, "all_day": day.all_day, "opens": day.opens, "closes": day.closes} for day in week]


class BlockedTimeForm(Styled, forms.ModelForm):
    """Blocked time, with a message people read when it ends before it starts."""

    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = BlockedTime
        fields = ["room", "start", "end", "reason"]
        widgets = {"start": DATETIME, "end": DATETIME}
        labels = {"room": _("Room"), "start": _("From"), "end": _("Until"), "reason": _("Reason")}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if isinstance(start, dt.datetime) and isinstance(end, dt.datetime) and end <= start:
            self.add_error("end", _("The blocked time must end after it starts."))
        return data


class OpeningHoursForm(Styled, forms.ModelForm):
    """One opening period (the week grid is the usual way in); one that
    closes at or before it opens runs past midnight."""

    class Meta:
        model = OpeningHours
        fields = ["room", "weekday", "opens", "closes"]
        widgets = {"opens": TIME, "closes": TIME}
        labels = {"room": _("Room"), "weekday": _("Weekday"), "opens": _("Opens"), "closes": _("Closes")}
