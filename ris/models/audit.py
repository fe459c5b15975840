from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Who viewed or changed which patient's data, through which door."""

    class Door(models.TextChoices):
        WEB = "WEB", _("web page")
        API = "API", _("REST API")
        HL7 = "HL7", _("HL7 MLLP")
        DICOM = "DICOM", _("DICOM")
        FHIR = "FHIR", _("FHIR API")
        SYSTEM = "SYSTEM", _("system (worker, command)")

    class Action(models.TextChoices):
        VIEW = "VIEW", _("viewed")
        CREATE = "CREATE", _("created")
        CHANGE = "CHANGE", _("changed")
        DELETE = "DELETE", _("deleted")
        EXPORT = "EXPORT", _("exported")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Kept as text so the trail survives the user's deletion; for HL7/DICOM the peer.
    actor = models.CharField(max_length=150, blank=True, default="", db_index=True)
    door = models.CharField(max_length=8, choices=Door.choices)
    action = models.CharField(max_length=8, choices=Action.choices)
    patient = models.ForeignKey(  # indexed first in audit_patient_at
        "ris.Patient", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events", db_index=False
    )
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    detail = models.CharField(max_length=500, blank=True, default="")
    address = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["patient", "at"], name="audit_patient_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type} {self.object_id}"
