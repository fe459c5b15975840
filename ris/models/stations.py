from django.db import models


class Station(models.Model):
    """A modality station: the DICOM AE that pulls a worklist, in a room."""

    ae_title = models.CharField(max_length=16, unique=True)  # (0040,0001)
    modality = models.CharField(max_length=16, db_index=True)  # (0008,0060)
    station_name = models.CharField(max_length=16, blank=True, default="")  # (0040,0010)
    location = models.CharField("room", max_length=16, blank=True, default="")  # (0040,0011)
    # Orders that name no station are scheduled on the default one of their modality.
    is_default_for_modality = models.BooleanField(default=False)

    class Meta:
        ordering = ["ae_title"]

    def __str__(self) -> str:
        return f"{self.ae_title} ({self.modality})"
