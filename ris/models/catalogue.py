from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Procedure(models.Model):
    """The procedure catalogue: what can be performed, where, for how long."""

    code = models.CharField(max_length=64, unique=True)  # matches RequestedProcedure.code_value
    name = models.CharField(max_length=64)
    modality = models.CharField(max_length=16, db_index=True)  # (0008,0060)
    default_duration_minutes = models.PositiveIntegerField(
        default=15, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)])
    preparation_instructions = models.TextField(blank=True, default="")
    # Empty: any room of the procedure's modality.
    rooms = models.ManyToManyField("ris.Room", blank=True, related_name="procedures")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
