from django.db import models


class CatalogueProcedure(models.Model):
    """The procedure-code catalogue: what an order's code means for scheduling.

    An order that names no modality (OBR-24 / IPC-5 empty) takes the one here.
    """

    code_value = models.CharField(max_length=64)  # OBR-4.1, Requested Procedure Code (0008,0100)
    code_scheme = models.CharField(max_length=64, blank=True, default="", help_text="OBR-4.3; empty: any")
    description = models.CharField(max_length=64, blank=True, default="")  # (0032,1060)
    modality = models.CharField(max_length=16)  # (0008,0060)
    default_duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    station = models.ForeignKey(
        "ris.Station", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="default station for this procedure",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["code_value", "code_scheme"], name="catalogue_unique_code"),
        ]
        ordering = ["code_value"]

    def __str__(self) -> str:
        return f"{self.code_value} {self.description} ({self.modality})"
