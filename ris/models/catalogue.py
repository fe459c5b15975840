from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Contrast(models.TextChoices):
    NONE = "NONE", "no contrast"
    IODINATED = "IODINATED", "iodinated contrast"
    GADOLINIUM = "GADOLINIUM", "gadolinium contrast"


class Procedure(models.Model):
    """The procedure catalogue: what an order's code means, where it can be
    done and for how long. One catalogue serves scheduling (rooms, durations),
    manual order entry, and HL7 intake (an order naming no modality or station
    takes the catalogue's)."""

    # OBR-4.1, Requested Procedure Code Value (0008,0100)
    code = models.CharField(max_length=64, unique=True)
    # OBR-4.3 / (0008,0102); empty: the code matches whatever scheme a sender uses
    code_scheme = models.CharField(max_length=64, blank=True, default="")
    name = models.CharField(max_length=64)  # (0032,1060) Requested Procedure Description
    modality = models.CharField(max_length=16, db_index=True)  # (0008,0060)
    default_duration_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)]
    )
    preparation_instructions = models.TextField(blank=True, default="")
    # Empty: any room of the procedure's modality.
    rooms = models.ManyToManyField("ris.Room", blank=True, related_name="procedures")
    station = models.ForeignKey(
        "ris.Station",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="default station for orders of this procedure that name none",
    )
    # Vetting: an order of this procedure waits for a radiologist before it
    # can be booked; False (the default) accepts it as it comes.
    needs_vetting = models.BooleanField(default=False)
    # What the safety rules look at (docs/safety.md).
    contrast = models.CharField(max_length=16, choices=Contrast.choices, default=Contrast.NONE)
    mr_checklist = models.BooleanField(default=False, help_text="needs a completed MR safety checklist")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ProtocolCode(models.Model):
    """A protocol a vetting radiologist may assign to a procedure; sent to the
    modality as Scheduled Protocol Code Sequence (0040,0008), PS3.3 C.4.10."""

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="protocols")
    code_value = models.CharField(max_length=16)  # (0008,0100) SH
    code_scheme = models.CharField(max_length=16, default="L")  # (0008,0102) SH; L: local (PS3.16 8.2)
    code_meaning = models.CharField(max_length=64)  # (0008,0104) LO
    is_default = models.BooleanField(default=False, help_text="suggested first when vetting")

    class Meta:
        ordering = ["procedure", "-is_default", "code_value"]
        constraints = [
            models.UniqueConstraint(fields=["procedure", "code_value", "code_scheme"], name="protocol_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code_value} {self.code_meaning}"
