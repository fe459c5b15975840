"""Forms of the reading screen: signing with a critical result category,
and the communication record that acknowledges a critical result."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ris.models import CriticalResult, ReportTemplate
from ris.states import CriticalCategory
from web.forms import DATETIME, AddendumForm, ReportTextForm, Styled


def _category_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Critical finding"),
        choices=CriticalCategory.choices,
        required=False,
        help_text=_("Flags the report to the EHR and opens a communication record that must be completed in time."),
    )


class SigningForm(ReportTextForm):
    critical_category = _category_field()


class AddendumSigningForm(AddendumForm):
    critical_category = _category_field()


class CommunicationForm(Styled, forms.Form):
    recipient_name = forms.CharField(label=_("Told whom (name)"), max_length=128)
    recipient_role = forms.CharField(label=_("Their role"), max_length=64)
    method = forms.ChoiceField(label=_("How"), choices=CriticalResult.Method.choices)
    communicated_at = forms.DateTimeField(label=_("When"), widget=DATETIME, initial=timezone.now)
    read_back = forms.BooleanField(label=_("The recipient read the finding back"), required=False)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ReportTemplateForm(Styled, forms.ModelForm):
    class Meta:
        model = ReportTemplate
        fields = ["name", "kind", "procedure", "findings", "impression", "is_active"]
        help_texts = {"findings": _("A macro's text is its findings; a macro has no impression.")}

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if not (str(data.get("findings") or "").strip() or str(data.get("impression") or "").strip()):
            raise forms.ValidationError(_("A template or macro needs some text."))
        return data
