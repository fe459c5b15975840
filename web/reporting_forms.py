from django import forms

from ris.selectors.reports import modalities_performed
from ris.states import Priority

AGES = [("", "any age"), ("1", "waiting over 1 h"), ("4", "over 4 h"), ("24", "over 24 h"), ("72", "over 3 days")]


class WorklistFilter(forms.Form):
    modality = forms.ChoiceField(required=False)
    priority = forms.ChoiceField(required=False, choices=[("", "any priority"), *Priority.choices])
    age = forms.ChoiceField(required=False, choices=AGES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["modality"].choices = [("", "any modality"), *((m, m) for m in modalities_performed())]
        for name, key in (("modality", "m"), ("priority", "y"), ("age", "g")):
            self.fields[name].widget.attrs["accesskey"] = key

    def criteria(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        age = data.get("age")
        return {
            "modality": data.get("modality", ""),
            "priority": data.get("priority", ""),
            "min_age_hours": float(age) if age else None,
        }


class ReportTextForm(forms.Form):
    findings = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 14, "autofocus": True}))
    impression = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))


class AddendumForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Addendum")
