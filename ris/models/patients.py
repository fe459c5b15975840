from django.db import models

from ris.names import PersonName


class Patient(models.Model):
    # PS3.3 C.2.2 Patient Identification; HL7 PID-3.1 / PID-3.4
    patient_id = models.CharField(max_length=64)
    issuer = models.CharField(max_length=64, blank=True, default="")
    # Patient's Name as DICOM PN, one string per component group (PS3.5 6.2):
    # alphabetic FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX, then ideographic, phonetic.
    name = models.CharField(max_length=320, blank=True, default="", db_index=True)
    name_ideographic = models.CharField(max_length=320, blank=True, default="")
    name_phonetic = models.CharField(max_length=320, blank=True, default="")
    birth_date = models.DateField(null=True, blank=True)  # PID-7, (0010,0030)
    sex = models.CharField(max_length=1, blank=True, default="")  # PID-8, (0010,0040) M/F/O
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient_id", "issuer"], name="patient_unique_id_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.name or '(no name)'} [{self.patient_id}]"

    @property
    def dicom_name(self) -> str:
        """The full PN value, trailing empty component groups dropped."""
        return "=".join((self.name, self.name_ideographic, self.name_phonetic)).rstrip("=")

    @property
    def person_name(self) -> PersonName:
        return PersonName.from_groups(self.name, self.name_ideographic, self.name_phonetic)
