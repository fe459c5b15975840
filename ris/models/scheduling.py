"""Rooms, their opening hours and blocked time, and the appointments in them."""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

Interval = tuple[dt.datetime, dt.datetime]


class Room(models.Model):
    """An examination room: where a step is performed, by its station."""

    code = models.CharField(max_length=16, unique=True)  # written to (0040,0011) Scheduled Procedure Step Location
    name = models.CharField(max_length=64)
    modality = models.CharField(max_length=16, db_index=True)  # (0008,0060)
    # The AE that pulls this room's worklist; a booking writes its AE title and name to the step.
    station = models.ForeignKey("ris.Station", null=True, blank=True, on_delete=models.SET_NULL, related_name="rooms")
    capacity = models.PositiveSmallIntegerField(
        default=1, help_text="exams at the same time", validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name} ({self.modality})"

    def open_intervals(self, start: dt.datetime, end: dt.datetime) -> list[Interval]:
        """The room's open time overlapping [start, end), as aware intervals,
        touching periods joined (so Monday 00:00-00:00 and Tuesday 00:00-00:00
        are one interval across midnight)."""
        first = timezone.localtime(start).date() - dt.timedelta(days=1)
        days = (timezone.localtime(end).date() - first).days + 1
        periods = list(self.opening_hours.all())
        intervals = sorted(
            p.interval_on(day)
            for day in (first + dt.timedelta(days=n) for n in range(days))
            for p in periods
            if p.weekday == day.weekday()
        )
        return [i for i in join_intervals(intervals) if i[0] < end and i[1] > start]


def join_intervals(intervals: list[Interval]) -> list[Interval]:
    """Sorted intervals with the overlapping and touching ones joined."""
    joined: list[Interval] = []
    for begin, finish in intervals:
        if joined and begin <= joined[-1][1]:
            joined[-1] = (joined[-1][0], max(joined[-1][1], finish))
        else:
            joined.append((begin, finish))
    return joined


class OpeningHours(models.Model):
    """One period a room is open, starting on a weekday, in the site time zone.

    A period that closes at or before it opens runs past midnight into the
    next day: 22:00-06:00 is a night shift, 00:00-00:00 is open 24 hours.
    """

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(
        choices=[
            (0, _("Monday")),
            (1, _("Tuesday")),
            (2, _("Wednesday")),
            (3, _("Thursday")),
            (4, _("Friday")),
            (5, _("Saturday")),
            (6, _("Sunday")),
        ]
    )
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["room", "weekday", "opens"]

    def __str__(self) -> str:
        return f"{self.room.code} {self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"

    @property
    def overnight(self) -> bool:
        return self.closes <= self.opens

    def interval_on(self, day: dt.date) -> Interval:
        """The period on `day` (which must be its weekday) as aware datetimes."""
        closing_day = day + dt.timedelta(days=1) if self.overnight else day
        return (
            timezone.make_aware(dt.datetime.combine(day, self.opens)),
            timezone.make_aware(dt.datetime.combine(closing_day, self.closes)),
        )


class BlockedTime(models.Model):
    """A period a room takes no bookings (maintenance, staff meeting...)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="blocked_times")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=models.Q(start__lt=models.F("end")), name="blocked_time_start_before_end")
        ]

    def __str__(self) -> str:
        return f"{self.room.code} blocked {self.start:%Y-%m-%d %H:%M}: {self.reason}"


class Appointment(models.Model):
    """A scheduled procedure step booked in a room.

    The step's start and expected duration stay the worklist's truth; start
    and end are kept here too, by the appointment services only, so that
    overlap checks are one indexed range query.
    """

    step = models.OneToOneField("ris.ScheduledProcedureStep", on_delete=models.CASCADE, related_name="appointment")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey("ris.Patient", on_delete=models.CASCADE, related_name="appointments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    booked_at = models.DateTimeField(default=timezone.now)  # first booked: the turnaround's "booked" time
    # The patient did not come: the step was cancelled as a no-show (the row stays as history).
    no_show = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["room", "start"], name="appointment_room_start"),
            models.Index(fields=["patient", "start"], name="appointment_patient_start"),
        ]

    def __str__(self) -> str:
        return f"{self.step} in {self.room.code}"
