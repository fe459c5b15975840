"""Forms decode what a page posts into plain values; they hold no domain rules."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ris.exceptions import InvalidInput
from ris.models import AuditEvent, Contrast, Patient, Procedure, Room
from ris.names import NameGroup, PersonName, group_problem
from ris.records import CLEAR, OrderData, PatientData
from ris.selectors.reports import modalities_performed
from ris.services.catalogue import order_data_for
from ris.states import Priority, StepStatus

BLANK = [("", _("any"))]


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
    text = forms.CharField(required=False, label=_("Accession, MRN or name"))
    status = forms.ChoiceField(required=False, choices=BLANK + StepStatus.choices, label=_("Status"))
    modality = forms.CharField(required=False, max_length=16, label=_("Modality"))
    priority = forms.ChoiceField(required=False, choices=BLANK + Priority.choices, label=_("Priority"))
    day = forms.DateField(required=False, widget=DATE, label=_("Date"))
    referring = forms.CharField(required=False, label=_("Referring physician"))
    booked = forms.ChoiceField(
        required=False, choices=[*BLANK, ("yes", _("booked")), ("no", _("not booked"))], label=_("Booked")
    )


class SavedFilterForm(Styled, forms.Form):
    name = forms.CharField(max_length=80, label=_("Name"))
    query = forms.CharField(max_length=500, required=False, widget=forms.HiddenInput)


class BookingForm(Styled, forms.Form):
    room = forms.ModelChoiceField(queryset=Room.objects.filter(is_active=True), label=_("Room"))
    start = forms.DateTimeField(widget=DATETIME, label=_("Start"))
    duration_minutes = forms.IntegerField(
        min_value=1,
        max_value=1440,
        required=False,
        label=_("Duration in minutes"),
        help_text=_("empty: the catalogue's default duration"),
    )


# Limits of the values a page sends on to DICOM and HL7: checked here, at the
# door, so that a person reads why, instead of the value being cut later.
LO_MAX = 64  # PS3.5 Table 6.2-1 LO: Patient ID, Issuer of Patient ID, Reason for the Requested Procedure
SEX_CHOICES = [
    ("", _("unknown")),
    ("F", _("female")),
    ("M", _("male")),
    ("O", _("other")),
]  # (0010,0040), HL7 table 0001


def _long_string(value: str, label: object) -> str:
    """A DICOM LO value: at most 64 characters, no backslash or control characters."""
    value = value.strip()
    if len(value) > LO_MAX:
        raise forms.ValidationError(
            _("%(label)s is %(length)d characters long; at most %(limit)d fit (DICOM LO)")
            % {"label": label, "length": len(value), "limit": LO_MAX}
        )
    if "\\" in value or any(unicodedata.category(char) == "Cc" for char in value):
        raise forms.ValidationError(_("%(label)s cannot contain a backslash or control characters") % {"label": label})
    return value


NAME_PARTS = ("family", "given", "middle", "prefix", "suffix")  # PS3.5 6.2 component order


def _name_group(data: dict[str, Any], prefix: str = "") -> NameGroup:
    return NameGroup(*(data.get(f"{prefix}{part}_name", "").strip() for part in NAME_PARTS))


def _check_name(form: forms.Form, data: dict[str, Any], prefix: str, label: object) -> NameGroup:
    group = _name_group(data, prefix)
    problem = group_problem(str(label), group)
    if problem:
        form.add_error(f"{prefix}family_name", problem)
    return group


class PatientForm(Styled, forms.Form):
    """A patient's identity and demographics, each part its own field."""

    patient_id = forms.CharField(max_length=200, label=_("Patient ID (MRN)"))
    issuer = forms.CharField(max_length=200, required=False, label=_("Issuer of patient ID"))
    family_name = forms.CharField(max_length=200, label=_("Family name"))
    given_name = forms.CharField(max_length=200, required=False, label=_("Given name"))
    middle_name = forms.CharField(max_length=200, required=False, label=_("Middle name"))
    prefix_name = forms.CharField(max_length=200, required=False, label=_("Title or prefix (Dr., Ms.)"))
    suffix_name = forms.CharField(max_length=200, required=False, label=_("Suffix (Jr., III)"))
    ideographic_family_name = forms.CharField(
        max_length=200, required=False, label=_("Family name in ideographs (山田)")
    )
    ideographic_given_name = forms.CharField(max_length=200, required=False, label=_("Given name in ideographs"))
    birth_date = forms.DateField(required=False, widget=DATE, label=_("Birth date"))
    sex = forms.ChoiceField(required=False, choices=SEX_CHOICES, label=_("Sex"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["issuer"].initial = settings.RIS_DEFAULT_ISSUER
        self.fields["issuer"].help_text = (
            _("empty: %(issuer)s") % {"issuer": settings.RIS_DEFAULT_ISSUER}
            if settings.RIS_DEFAULT_ISSUER
            else _("the MRN's assigning authority")
        )

    def clean_patient_id(self) -> str:
        return _long_string(self.cleaned_data["patient_id"], _("The patient ID"))

    def clean_issuer(self) -> str:
        return _long_string(self.cleaned_data["issuer"], _("The issuer")) or settings.RIS_DEFAULT_ISSUER

    def clean_birth_date(self) -> dt.date | None:
        born = self.cleaned_data["birth_date"]
        if born and born > timezone.localdate():
            raise forms.ValidationError(_("The birth date is in the future"))
        return born

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_name(self, data, "", _("The name"))
        _check_name(self, data, "ideographic_", _("The ideographic name"))
        return data

    def person_name(self) -> PersonName:
        data = self.cleaned_data
        ideographic = NameGroup(data["ideographic_family_name"].strip(), data["ideographic_given_name"].strip())
        return PersonName(_name_group(data), ideographic)

    def patient_data(self) -> PatientData:
        data, name = self.cleaned_data, self.person_name()
        return PatientData(
            patient_id=data["patient_id"],
            issuer=data["issuer"],
            name=name.alphabetic.to_dicom(),
            name_ideographic=name.ideographic.to_dicom(),
            birth_date=data["birth_date"] or CLEAR,
            sex=data["sex"] or CLEAR,
        )

    def lookup(self) -> dict[str, Any]:
        """What the patient matches are looked up by."""
        data = self.cleaned_data
        return {
            "patient_id": data["patient_id"],
            "issuer": data["issuer"],
            "name": " ".join(self.person_name().alphabetic.components),
            "birth_date": data["birth_date"],
        }

    @classmethod
    def initial_from(cls, patient: Patient) -> dict[str, Any]:
        name = patient.person_name
        parts = dict(zip((f"{part}_name" for part in NAME_PARTS), name.alphabetic.components, strict=True))
        return {
            "patient_id": patient.patient_id,
            "issuer": patient.issuer,
            **parts,
            "ideographic_family_name": name.ideographic.family,
            "ideographic_given_name": name.ideographic.given,
            "birth_date": patient.birth_date,
            "sex": patient.sex,
        }


class NewPatientForm(PatientForm):
    """Registering a patient at order entry: a person confirms a new patient
    when others share the identifier, or the name and birth date."""

    confirm_new = forms.BooleanField(required=False, label=_("This is a new patient, none of those listed"))


class PatientEditForm(PatientForm):
    """Correcting demographics; the identifier is not changed here (a merge does that)."""

    reason = forms.CharField(max_length=200, required=False, label=_("Reason for the change"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("patient_id", "issuer"):
            self.fields[name].disabled = True
            self.fields[name].help_text = _("changed only by merging records")


class PatientUnmergeForm(Styled, forms.Form):
    """Why a merge is undone (the audit trail keeps it)."""

    reason = forms.CharField(max_length=200, label=_("Why the merge is undone"))
    confirm = forms.BooleanField(label=_("I have checked that the two records are two people"))


class PatientMergeForm(Styled, forms.Form):
    """Which other record is the same person, and which of the two survives."""

    other_mrn = forms.CharField(max_length=200, label=_("MRN of the other record"))
    other_issuer = forms.CharField(max_length=200, required=False, label=_("Its issuer"))
    survivor = forms.ChoiceField(
        choices=[("this", _("this patient survives")), ("other", _("the other record survives"))],
        widget=forms.RadioSelect,
        initial="this",
        label=_("Which record survives"),
    )
    confirm = forms.BooleanField(required=False, label=_("I have checked that both records are the same person"))

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        self.fields["survivor"].widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "other_mrn" not in data:
            return data
        rows = Patient.objects.filter(patient_id=data["other_mrn"].strip(), merged_into__isnull=True)
        rows = rows.exclude(pk=self.patient.pk)
        if data.get("other_issuer", "").strip():
            rows = rows.filter(issuer=data["other_issuer"].strip())
        found = list(rows[:2])
        if not found:
            self.add_error("other_mrn", _("No other (unmerged) patient has this MRN"))
        elif len(found) > 1:
            self.add_error("other_issuer", _("Several patients have this MRN: give the issuer"))
        else:
            data["other"] = found[0]
        return data

    def pair(self) -> tuple[Patient, Patient] | None:
        """(surviving, merged), once the other record is found."""
        other = self.cleaned_data.get("other")
        if other is None:
            return None
        return (self.patient, other) if self.cleaned_data["survivor"] == "this" else (other, self.patient)


class PatientLookupForm(Styled, forms.Form):
    """Who is the patient? Looked up before an order is entered."""

    mrn = forms.CharField(required=False, label=_("MRN"), max_length=200)
    name = forms.CharField(required=False, label=_("Name"), max_length=200)
    birth_date = forms.DateField(required=False, widget=DATE, label=_("Birth date"))


class OrderForm(Styled, forms.Form):
    procedure = forms.ModelChoiceField(queryset=Procedure.objects.all(), label=_("Procedure"))
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.ROUTINE, label=_("Priority"))
    referring_family_name = forms.CharField(max_length=200, required=False, label=_("Referring physician: family name"))
    referring_given_name = forms.CharField(max_length=200, required=False, label=_("Referring physician: given name"))
    referring_prefix_name = forms.CharField(max_length=200, required=False, label=_("Referring physician: title"))
    reason = forms.CharField(max_length=200, required=False, label=_("Reason for the exam"))

    def clean_reason(self) -> str:
        return _long_string(self.cleaned_data["reason"], _("The reason"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_name(self, data, "referring_", _("The referring physician's name"))
        return data

    def order_data(self) -> OrderData:
        data = self.cleaned_data
        return order_data_for(
            data["procedure"],
            placer_system="UI",
            priority=data["priority"],
            reason=data["reason"],
            referring_physician=_name_group(data, "referring_").to_dicom(),
        )


class StepStatusForm(Styled, forms.Form):
    status = forms.ChoiceField(choices=StepStatus.choices)


class AuditFilter(Styled, forms.Form):
    actor = forms.CharField(required=False, label=_("User"))
    patient_id = forms.CharField(required=False, label=_("Patient ID"))
    door = forms.ChoiceField(required=False, choices=BLANK + AuditEvent.Door.choices, label=_("Door"))
    action = forms.ChoiceField(required=False, choices=BLANK + AuditEvent.Action.choices, label=_("Action"))
    since = forms.DateField(required=False, widget=DATE, label=_("From"))
    until = forms.DateField(required=False, widget=DATE, label=_("To"))


class PatientSearchForm(Styled, forms.Form):
    mrn = forms.CharField(required=False, label=_("MRN"))
    name = forms.CharField(required=False, label=_("Name"), help_text=_("any case, with or without accents"))
    birth_date = forms.DateField(required=False, widget=DATE, label=_("Birth date"))
    accession = forms.CharField(required=False, label=_("Accession"))


class RoomForm(Styled, forms.ModelForm):
    class Meta:
        model = Room
        fields = ["code", "name", "modality", "station", "capacity", "is_active"]


class ProcedureForm(Styled, forms.ModelForm):
    class Meta:
        model = Procedure
        fields = [
            "code",
            "name",
            "modality",
            "default_duration_minutes",
            "preparation_instructions",
            "rooms",
            "needs_vetting",
            "contrast",
            "mr_checklist",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contrast"].required = False  # not given: no contrast

    def clean_contrast(self) -> str:
        return self.cleaned_data.get("contrast") or Contrast.NONE


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
