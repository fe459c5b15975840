from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


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

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
