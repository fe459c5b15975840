"""The integration console's forms: outbound destinations, HL7 senders and
their station rules, the modality registry and the stations it points at.
They only decode; the pages save through ris/services/configuration.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hl7.models import HL7Sender, SenderStationRule
from ris.models import Destination, Station
from web.forms import Styled
from worklist.models import ModalityAE

EVENTS = [
    ("order_status", _("order status")),
    ("report", _("report")),
    ("mpps", _("MPPS")),
    ("patient", _("patient identity: merge, un-merge, identifier change (ADT)")),
    ("appointment", _("appointments (SIU)")),
    ("procedure", _("procedure scheduled and update (image manager)")),
]


class DestinationForm(Styled, forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=EVENTS,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        label=_("Events"),
        help_text=_(
            "Nothing ticked: all events except patient identity and appointments, which are sent only where ticked."
        ),
    )
    role = forms.ChoiceField(
        choices=Destination.Role.choices,
        required=False,
        label=_("Role"),
        help_text=_(
            "An image manager (PACS) receives only its own families: with no event ticked, "
            "the procedure messages, forwarded MPPS and rejection notes."
        ),
    )

    class Meta:
        model = Destination
        fields = [
            "name",
            "kind",
            "role",
            "enabled",
            "events",
            "host",
            "port",
            "base_url",
            "ae_title",
            "hl7_version",
            "receiving_application",
            "receiving_facility",
            "timeout_seconds",
            "max_attempts",
        ]
        labels = {
            "name": _("Name"),
            "kind": _("Kind"),
            "enabled": _("Enabled"),
            "host": _("Host"),
            "port": _("Port"),
            "base_url": _("FHIR base URL"),
            "ae_title": _("Called AE title"),
            "hl7_version": _("HL7 version"),
            "receiving_application": _("Receiving application (MSH-5)"),
            "receiving_facility": _("Receiving facility (MSH-6)"),
            "timeout_seconds": _("Timeout (seconds)"),
            "max_attempts": _("Attempts before giving up"),
        }

    def clean_role(self) -> str:
        return str(self.cleaned_data.get("role") or Destination.Role.ORDER_PLACER)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind = data.get("kind")
        if kind in (Destination.Kind.HL7_MLLP, Destination.Kind.DICOM) and not (data.get("host") and data.get("port")):
            raise forms.ValidationError(_("An MLLP or DICOM destination needs a host and a port."))
        if kind == Destination.Kind.FHIR and not data.get("base_url"):
            raise forms.ValidationError(_("A FHIR destination needs its base URL."))
        return data


class SenderForm(Styled, forms.ModelForm):
    class Meta:
        model = HL7Sender
        fields = ["application", "facility", "mrn_authority", "description", "is_active"]
        labels = {
            "application": _("Sending application (MSH-3)"),
            "facility": _("Sending facility (MSH-4)"),
            "mrn_authority": _("MRN assigning authority"),
            "description": _("Description"),
            "is_active": _("Accepted"),
        }
        help_texts = {
            "facility": _("Empty: any facility."),
            "mrn_authority": _(
                "The PID-3 repetition whose CX-4 names this authority is the patient ID; empty: the first."
            ),
        }


class StationRuleForm(Styled, forms.ModelForm):
    class Meta:
        model = SenderStationRule
        fields = ["sender", "procedure_code", "modality", "station"]
        labels = {
            "sender": _("Sender"),
            "procedure_code": _("Procedure code (OBR-4.1)"),
            "modality": _("Modality"),
            "station": _("Station"),
        }
        help_texts = {
            "sender": _("Empty: every sender."),
            "procedure_code": _("Empty: any code."),
            "modality": _("Empty: any modality."),
        }


class ModalityForm(Styled, forms.ModelForm):
    class Meta:
        model = ModalityAE
        fields = ["ae_title", "description", "allowed", "character_set", "own_worklist_when_unspecified", "stations"]
        labels = {
            "ae_title": _("AE title"),
            "description": _("Description"),
            "allowed": _("Allowed"),
            "character_set": _("Character set of its answers"),
            "own_worklist_when_unspecified": _("Only its own stations when it names none"),
            "stations": _("Stations whose worklist it sees"),
        }
        widgets = {"stations": forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})}


class StationForm(Styled, forms.ModelForm):
    class Meta:
        model = Station
        fields = ["ae_title", "modality", "station_name", "location", "is_default_for_modality"]
        labels = {
            "ae_title": _("Scheduled station AE title"),
            "modality": _("Modality"),
            "station_name": _("Station name"),
            "location": _("Room"),
            "is_default_for_modality": _("Default station for its modality"),
        }
