"""Forms of the dose pages: a diagnostic reference level, the dose table's
filter and the research export's selection and options."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ris.models import DiagnosticReferenceLevel, DoseReport
from web.forms import DATE, Styled


class ReferenceLevelForm(Styled, forms.ModelForm):
    class Meta:
        model = DiagnosticReferenceLevel
        fields = ["procedure", "modality", "quantity", "level", "note"]
        help_texts = {
            "modality": _("For every exam of this modality whose procedure has no level of its own."),
            "level": _("In the unit the quantity names; an exam above it raises an alert."),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("procedure") and not data.get("modality"):
            raise forms.ValidationError(_("Name a procedure or a modality."))
        if data.get("level") is not None and data["level"] <= 0:
            self.add_error("level", _("The level must be above zero."))
        return data


class DoseFilter(Styled, forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=DATE)
    end = forms.DateField(label=_("Until"), required=False, widget=DATE)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("all")), *DoseReport.Kind.choices])


class ResearchExportForm(Styled, forms.Form):
    procedure_code = forms.CharField(label=_("Procedure code"), required=False, max_length=64)
    modality = forms.CharField(label=_("Modality"), required=False, max_length=16)
    start = forms.DateField(label=_("Exams from"), required=False, widget=DATE)
    end = forms.DateField(label=_("Exams until"), required=False, widget=DATE)
    retain_dates_modified = forms.BooleanField(
        label=_("Retain longitudinal temporal information with modified dates (shifted per patient)"),
        required=False,
        initial=True,
    )
    clean_descriptors = forms.BooleanField(
        label=_("Clean descriptors (keep descriptions and reasons, scrubbed)"), required=False
    )
