"""The technologist's safety screening form and the radiologist's vetting decision."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ris.models import SafetyItem, SafetyRecord
from ris.records import SafetyData
from ris.services.safety import CHOICES
from web.forms import Styled

_LABELS = {
    "yes": _("yes"),
    "no": _("no"),
    "unknown": _("unknown"),
    "none": _("none"),
    "safe": _("MR safe"),
    "conditional": _("MR conditional"),
    "unsafe": _("MR unsafe"),
    "not-pregnant": _("not pregnant"),
    "possible": _("possibly pregnant"),
    "pregnant": _("pregnant"),
    "not-applicable": _("not applicable"),
}


def _choices(item: str) -> list[tuple[str, Any]]:
    return [("", _("not recorded"))] + [(value, _LABELS[value]) for value in CHOICES[item]]


class ScreeningForm(Styled, forms.Form):
    contrast_allergy = forms.ChoiceField(
        choices=_choices(SafetyItem.CONTRAST_ALLERGY), required=False, label=_("Contrast allergy")
    )
    contrast_allergy_detail = forms.CharField(max_length=255, required=False, label=_("Allergen and reaction"))
    egfr = forms.DecimalField(
        min_value=0, max_value=250, decimal_places=1, required=False, label=_("eGFR (mL/min/1.73 m²)")
    )
    egfr_date = forms.DateField(
        required=False, label=_("eGFR measured on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    pregnancy = forms.ChoiceField(choices=_choices(SafetyItem.PREGNANCY), required=False, label=_("Pregnancy status"))
    weight = forms.DecimalField(min_value=0.1, max_value=700, decimal_places=1, required=False, label=_("Weight (kg)"))
    mr_pacemaker = forms.ChoiceField(
        choices=_choices(SafetyItem.MR_PACEMAKER), required=False, label=_("Pacemaker or defibrillator")
    )
    mr_implant = forms.ChoiceField(
        choices=_choices(SafetyItem.MR_IMPLANT), required=False, label=_("Implants, foreign bodies")
    )
    mr_implant_detail = forms.CharField(max_length=255, required=False, label=_("Which implant"))

    @staticmethod
    def initial_from(current: dict[str, SafetyRecord]) -> dict[str, Any]:
        def get(item: str, attr: str) -> Any:
            record = current.get(item)
            return getattr(record, attr) if record is not None else None

        return {
            "contrast_allergy": get(SafetyItem.CONTRAST_ALLERGY, "value"),
            "contrast_allergy_detail": get(SafetyItem.CONTRAST_ALLERGY, "detail"),
            "egfr": get(SafetyItem.EGFR, "number"),
            "egfr_date": get(SafetyItem.EGFR, "measured_on"),
            "pregnancy": get(SafetyItem.PREGNANCY, "value"),
            "weight": get(SafetyItem.WEIGHT, "number"),
            "mr_pacemaker": get(SafetyItem.MR_PACEMAKER, "value"),
            "mr_implant": get(SafetyItem.MR_IMPLANT, "value"),
            "mr_implant_detail": get(SafetyItem.MR_IMPLANT, "detail"),
        }

    def values(self) -> list[SafetyData]:
        """What the form says, item by item; an item left 'not recorded' is not a value."""
        data = self.cleaned_data
        values = []
        if data["contrast_allergy"]:
            values.append(
                SafetyData("CONTRAST_ALLERGY", value=data["contrast_allergy"], detail=data["contrast_allergy_detail"])
            )
        if data["egfr"] is not None:
            values.append(SafetyData("EGFR", number=float(data["egfr"]), measured_on=data["egfr_date"]))
        if data["pregnancy"]:
            values.append(SafetyData("PREGNANCY", value=data["pregnancy"]))
        if data["weight"] is not None:
            values.append(SafetyData("WEIGHT", number=float(data["weight"])))
        if data["mr_pacemaker"]:
            values.append(SafetyData("MR_PACEMAKER", value=data["mr_pacemaker"]))
        if data["mr_implant"]:
            values.append(SafetyData("MR_IMPLANT", value=data["mr_implant"], detail=data["mr_implant_detail"]))
        return values
