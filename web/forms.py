"""Forms decode what a page posts into plain values; they hold no domain rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from ris.exceptions import InvalidInput
from ris.models import AuditEvent, Procedure, Room
from ris.records import OrderData, PatientData
from ris.selectors.reports import modalities_performed
from ris.services.catalogue import order_data_for
from ris.states import Priority, StepStatus

BLANK = [("", "any")]


def form_data(form: forms.Form) -> dict[str, Any]:
    """The form's values, or InvalidInput naming the first input at fault:
    a page answers it as it answers any refusal (web/errors.py)."""
    if form.is_valid():
        return form.cleaned_data
    name, errors = next(iter(form.errors.items()))
    message = str(errors[0])
    label = form[name].label if name in form.fields else ""
    raise InvalidInput(f"{label}: {message}" if label else message, field=name)


class Styled:
    """Gives every widget its Bootstrap class."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", _css_class(field.widget))


def _css_class(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.Select) and not isinstance(widget, forms.SelectMultiple):
        return "form-select"
    return "form-control"


DATE = forms.DateInput(attrs={"type": "date"})
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class LoginForm(AuthenticationForm):
    username = forms.CharField(widget=forms.TextInput(attrs={"autofocus": True, "class": "form-control"}))
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"class": "form-control"}))


class OrderQueueFilter(Styled, forms.Form):
    text = forms.CharField(required=False, label="Accession, MRN or name")
    status = forms.ChoiceField(required=False, choices=BLANK + StepStatus.choices)
    modality = forms.CharField(required=False, max_length=16)
    priority = forms.ChoiceField(required=False, choices=BLANK + Priority.choices)
    day = forms.DateField(required=False, widget=DATE, label="Date")
    referring = forms.CharField(required=False, label="Referring physician")
    booked = forms.ChoiceField(required=False, choices=[*BLANK, ("yes", "booked"), ("no", "not booked")])


class SavedFilterForm(Styled, forms.Form):
    name = forms.CharField(max_length=80)
    query = forms.CharField(max_length=500, required=False, widget=forms.HiddenInput)


class BookingForm(Styled, forms.Form):
    room = forms.ModelChoiceField(queryset=Room.objects.filter(is_active=True))
    start = forms.DateTimeField(widget=DATETIME)
    duration_minutes = forms.IntegerField(
        min_value=1, max_value=1440, required=False, help_text="empty: the catalogue's default duration"
    )


class OrderEntryForm(Styled, forms.Form):
    patient_id = forms.CharField(max_length=64, label="Patient ID (MRN)")
    issuer = forms.CharField(max_length=64, required=False, label="Issuer of patient ID")
    family_name = forms.CharField(max_length=64)
    given_name = forms.CharField(max_length=64, required=False)
    birth_date = forms.DateField(required=False, widget=DATE)
    sex = forms.ChoiceField(required=False, choices=[("", "unknown"), ("F", "F"), ("M", "M"), ("O", "O")])
    procedure = forms.ModelChoiceField(queryset=Procedure.objects.all())
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.ROUTINE)
    referring_physician = forms.CharField(max_length=64, required=False)
    reason = forms.CharField(max_length=255, required=False)

    def patient_data(self) -> PatientData:
        data = self.cleaned_data
        return PatientData(
            patient_id=data["patient_id"],
            issuer=data["issuer"],
            name=f"{data['family_name']}^{data['given_name']}".rstrip("^").upper(),
            birth_date=data["birth_date"],
            sex=data["sex"] or None,
        )

    def order_data(self) -> OrderData:
        data = self.cleaned_data
        return order_data_for(
            data["procedure"],
            placer_system="UI",
            priority=data["priority"],
            reason=data["reason"],
            referring_physician=data["referring_physician"],
        )


class StepStatusForm(Styled, forms.Form):
    status = forms.ChoiceField(choices=StepStatus.choices)


class AuditFilter(Styled, forms.Form):
    actor = forms.CharField(required=False, label="User")
    patient_id = forms.CharField(required=False, label="Patient ID")
    door = forms.ChoiceField(required=False, choices=BLANK + AuditEvent.Door.choices)
    action = forms.ChoiceField(required=False, choices=BLANK + AuditEvent.Action.choices)
    since = forms.DateField(required=False, widget=DATE, label="From")
    until = forms.DateField(required=False, widget=DATE, label="To")


class PatientSearchForm(Styled, forms.Form):
    mrn = forms.CharField(required=False, label="MRN")
    name = forms.CharField(required=False)
    birth_date = forms.DateField(required=False, widget=DATE)
    accession = forms.CharField(required=False)


class RoomForm(Styled, forms.ModelForm):
    class Meta:
        model = Room
        fields = ["code", "name", "modality", "station", "capacity", "is_active"]


class ProcedureForm(Styled, forms.ModelForm):
    class Meta:
        model = Procedure
        fields = ["code", "name", "modality", "default_duration_minutes", "preparation_instructions", "rooms"]


AGES = [
    ("", _("any age")),
    ("1", _("waiting over 1 h")),
    ("4", _("over 4 h")),
    ("24", _("over 24 h")),
    ("72", _("over 3 days")),
]


class WorklistFilter(Styled, forms.Form):
    """The reading worklist's filters, each on an access key."""

    modality = forms.ChoiceField(required=False)
    priority = forms.ChoiceField(required=False, choices=[("", _("any priority")), *Priority.choices])
    age = forms.ChoiceField(required=False, choices=AGES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        modality = self.fields["modality"]
        assert isinstance(modality, forms.ChoiceField)
        modality.choices = [("", _("any modality")), *((m, m) for m in modalities_performed())]
        for name, key in (("modality", "m"), ("priority", "y"), ("age", "g")):
            self.fields[name].widget.attrs["accesskey"] = key

    def criteria(self) -> dict[str, Any]:
        data = self.cleaned_data if self.is_valid() else {}
        age = data.get("age")
        return {
            "modality": data.get("modality", ""),
            "priority": data.get("priority", ""),
            "min_age_hours": float(age) if age else None,
        }


class ReportTextForm(Styled, forms.Form):
    findings = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 14, "autofocus": True}))
    impression = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))


class AddendumForm(Styled, forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label=_("Addendum"))
