"""The scheduler's and technologist's forms: a booking (or reschedule), and a reason."""

from django import forms
from django.utils.translation import gettext_lazy as _

from web.forms import BookingForm, Styled


class SafetyOverrideField(forms.CharField):
    """The reason to go ahead against a safety rule (capability override_safety)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Override a safety rule: reason"))
        kwargs.setdefault("help_text", _("only to go ahead against a safety flag shown above"))
        super().__init__(**kwargs)


class StepBookingForm(BookingForm):
    """Book a step; for a booked one, a move, which a reason makes a reschedule the EHR hears of."""

    reason = forms.CharField(
        max_length=200, required=False, label=_("Reason for the change"), help_text=_("only when rescheduling")
    )
    safety_override = SafetyOverrideField()

    def __init__(self, *args, walk_in: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["start"].required = not walk_in  # a walk-in starts now


class ReasonForm(Styled, forms.Form):
    reason = forms.CharField(max_length=200, label=_("Reason"))
