from django.db import models

from ris.names import PersonName

NAME_FIELDS = {"name", "name_ideographic", "name_phonetic"}


class Patient(models.Model):
    # PS3.3 C.2.2 Patient Identification; HL7 PID-3.1 / PID-3.4
    patient_id = models.CharField(max_length=64)
    issuer = models.CharField(max_length=64, blank=True, default="")
    # Patient's Name as DICOM PN, one string per component group (PS3.5 6.2):
    # alphabetic FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX, then ideographic, phonetic.
    name = models.CharField(max_length=320, blank=True, default="", db_index=True)
    name_ideographic = models.CharField(max_length=320, blank=True, default="")
    name_phonetic = models.CharField(max_length=320, blank=True, default="")
    birth_date = models.DateField(null=True, blank=True, db_index=True)  # PID-7, (0010,0030); name + birth date lookups
    sex = models.CharField(max_length=1, blank=True, default="")  # PID-8, (0010,0040) M/F/O
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT)
    # Every name group casefolded and without accents (ris.names search_text),
    # kept by save() and by the services that insert rows; what people search.
    search_name = models.CharField(max_length=1000, blank=True, default="", db_index=True, editable=False)
    # Who owns the demographics: the HL7 sending application that last sent
    # them (an EHR), or '' when the RIS registered the patient itself. Only an
    # explicit, audited edit changes an EHR-owned patient from the RIS side.
    demographics_source = models.CharField(max_length=180, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient_id", "issuer"], name="patient_unique_id_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.name or '(no name)'} [{self.patient_id}]"

    def save(self, *args, **kwargs) -> None:
        self.search_name = self.person_name.search_text()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and NAME_FIELDS & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    def with_search_name(self) -> "Patient":
        """For inserts that bypass save() (bulk_create)."""
        self.search_name = self.person_name.search_text()
        return self

    @property
    def ehr_owned(self) -> bool:
        return bool(self.demographics_source)

    @property
    def dicom_name(self) -> str:
        """The full PN value, trailing empty component groups dropped."""
        return self.pn_value(self.name, self.name_ideographic, self.name_phonetic)

    @staticmethod
    def pn_value(name: str, ideographic: str, phonetic: str) -> str:
        """The PN value of the three name columns' values."""
        return "=".join((name, ideographic, phonetic)).rstrip("=")

    @property
    def person_name(self) -> PersonName:
        return self.name_of(self.name, self.name_ideographic, self.name_phonetic)

    @staticmethod
    def name_of(name: str, ideographic: str, phonetic: str) -> PersonName:
        """The person name of the three columns (a whole PN value in `name` reads as its groups too)."""
        return PersonName.from_dicom(Patient.pn_value(name, ideographic, phonetic))


class PatientMerge(models.Model):
    """One merge of two patient records (HL7 ADT A40 or a person), kept so
    that it can be undone: what moved to the survivor is listed here."""

    survivor = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges_in")
    merged = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges_out")
    # What the merge moved to the survivor: the merged patient's orders, and
    # the records merged into it earlier (they pointed at it, now at the survivor).
    order_ids = models.JSONField(default=list, blank=True)
    earlier_merged_ids = models.JSONField(default=list, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150, blank=True, default="")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.CharField(max_length=150, blank=True, default="")
    undo_reason = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.merged.patient_id} into {self.survivor.patient_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None
