"""Statuses and the state machines that move them.

Every status change goes through `StateMachine.check`, so an illegal move is
refused with `IllegalTransition` by whichever door asked for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ris.exceptions import IllegalTransition

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise


class Priority(models.TextChoices):
    # (0040,1003) Requested Procedure Priority; HL7 ORC-7.6 / TQ1-9 mapped in hl7/
    STAT = "STAT", _("STAT")
    HIGH = "HIGH", _("High")
    ROUTINE = "ROUTINE", _("Routine")
    MEDIUM = "MEDIUM", _("Medium")
    LOW = "LOW", _("Low")


class StepStatus(models.TextChoices):
    # (0040,0020) Scheduled Procedure Step Status, PS3.3 C.4.10
    SCHEDULED = "SCHEDULED", _("Scheduled")
    ARRIVED = "ARRIVED", _("Arrived")
    READY = "READY", _("Ready")
    STARTED = "STARTED", _("Started")
    DEPARTED = "DEPARTED", _("Departed")
    COMPLETED = "COMPLETED", _("Completed")
    DISCONTINUED = "DISCONTINUED", _("Discontinued")
    CANCELED = "CANCELED", _("Canceled")

    # The groups the domain reasons with (set below the class: an Enum body
    # would make them members). Every rule about "open" or "ended" steps uses these.
    OPEN: ClassVar[frozenset[StepStatus]]  # not started: on the worklist, bookable
    PERFORMING: ClassVar[frozenset[StepStatus]]  # started on a modality, whatever came of it
    ENDED: ClassVar[frozenset[StepStatus]]  # final for the order: XO leaves them, the order follows
    STOPPED: ClassVar[frozenset[StepStatus]]  # ended without being performed to the end


StepStatus.OPEN = frozenset({StepStatus.SCHEDULED, StepStatus.ARRIVED, StepStatus.READY})
StepStatus.PERFORMING = frozenset(
    {StepStatus.STARTED, StepStatus.DEPARTED, StepStatus.COMPLETED, StepStatus.DISCONTINUED}
)
StepStatus.ENDED = frozenset({StepStatus.COMPLETED, StepStatus.DISCONTINUED, StepStatus.CANCELED})
StepStatus.STOPPED = frozenset({StepStatus.DISCONTINUED, StepStatus.CANCELED})


class OrderStatus(models.TextChoices):
    SCHEDULED = "SCHEDULED", _("Scheduled")
    IN_PROGRESS = "IN_PROGRESS", _("In progress")
    COMPLETED = "COMPLETED", _("Completed")
    DISCONTINUED = "DISCONTINUED", _("Discontinued")
    CANCELED = "CANCELED", _("Canceled")
    ON_HOLD = "ON_HOLD", _("On hold")


class VettingStatus(models.TextChoices):
    # Vetting and protocoling before an order is booked (RCR guidance on
    # vetting; the catalogue's `needs_vetting` decides whether an order waits).
    NOT_REQUIRED = "NOT_REQUIRED"  # its procedures are auto-accepted
    PENDING = "PENDING"  # waits for a radiologist
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"  # the EHR hears ORC-1 OC with the reason
    RETURNED = "RETURNED"  # returned for more information: held for the EHR

    # Not yet accepted: off the worklist and not bookable.
    UNVETTED: ClassVar[frozenset[VettingStatus]]


VettingStatus.UNVETTED = frozenset({VettingStatus.PENDING, VettingStatus.RETURNED})


class PerformedStepStatus(models.TextChoices):
    # (0040,0252) Performed Procedure Step Status, PS3.3 C.4.14; the DICOM terms
    IN_PROGRESS = "IN PROGRESS", _("In progress")
    COMPLETED = "COMPLETED", _("Completed")
    DISCONTINUED = "DISCONTINUED", _("Discontinued")


class StateMachine:
    def __init__(self, name: StrOrPromise, transitions: dict[str, set[str]]):
        self.name = name
        self.transitions = transitions

    def allows(self, current: str, new: str) -> bool:
        return new in self.transitions.get(current, set())

    def check(self, current: str, new: str) -> None:
        if not self.allows(current, new):
            raise IllegalTransition(
                gettext("%(what)s cannot go from %(current)s to %(new)s")
                % {"what": self.name, "current": current, "new": new}
            )


_S = StepStatus
STEP_MACHINE = StateMachine(
    _("scheduled procedure step"),
    {
        _S.SCHEDULED: {_S.ARRIVED, _S.READY, _S.STARTED, _S.DISCONTINUED, _S.CANCELED},
        _S.ARRIVED: {_S.READY, _S.STARTED, _S.SCHEDULED, _S.DISCONTINUED, _S.CANCELED},
        _S.READY: {_S.STARTED, _S.ARRIVED, _S.DISCONTINUED, _S.CANCELED},
        _S.STARTED: {_S.COMPLETED, _S.DISCONTINUED, _S.DEPARTED},
        _S.DEPARTED: {_S.COMPLETED, _S.DISCONTINUED},
        # A step discontinued on the modality (e.g. wrong worklist entry, CID 9300
        # 110514) may be selected and performed again.
        _S.DISCONTINUED: {_S.SCHEDULED, _S.STARTED},
        _S.COMPLETED: set(),
        _S.CANCELED: set(),
    },
)

_O = OrderStatus
ORDER_MACHINE = StateMachine(
    _("imaging order"),
    {
        _O.SCHEDULED: {_O.IN_PROGRESS, _O.COMPLETED, _O.DISCONTINUED, _O.CANCELED, _O.ON_HOLD},
        _O.ON_HOLD: {_O.SCHEDULED, _O.CANCELED, _O.DISCONTINUED},
        # Back to SCHEDULED when its only started step was the wrong worklist
        # entry (MPPS DISCONTINUED with CID 9300 110514).
        _O.IN_PROGRESS: {_O.COMPLETED, _O.DISCONTINUED, _O.SCHEDULED},
        _O.COMPLETED: set(),
        _O.DISCONTINUED: set(),
        _O.CANCELED: set(),
    },
)


_V = VettingStatus
VETTING_MACHINE = StateMachine(
    "vetting",
    {
        _V.PENDING: {_V.ACCEPTED, _V.REJECTED, _V.RETURNED},
        # More information came (or the radiologist decides without it).
        _V.RETURNED: {_V.PENDING, _V.ACCEPTED, _V.REJECTED},
        _V.NOT_REQUIRED: set(),
        _V.ACCEPTED: set(),
        _V.REJECTED: set(),
    },
)


class ReportStatus(models.TextChoices):
    # Result status: HL7 table 0123 (OBR-25) / 0085 (OBX-11) P, F, C;
    # FHIR DiagnosticReport.status preliminary, final, corrected, amended.
    DRAFT = "DRAFT", _("Draft")
    PRELIMINARY = "PRELIMINARY", _("Preliminary")
    FINAL = "FINAL", _("Final")
    CORRECTED = "CORRECTED", _("Corrected")
    ADDENDUM = "ADDENDUM", _("Addendum")


class CriticalCategory(models.TextChoices):
    # A finding the referrer must hear of in person, within the category's
    # time (settings.RIS_CRITICAL_RESULT_MINUTES); empty: no flag.
    NONE = "", _("no critical finding")
    CRITICAL = "CRITICAL", _("critical")
    URGENT = "URGENT", _("urgent")
    UNEXPECTED = "UNEXPECTED", _("unexpected significant")


_R = ReportStatus
# The status of a report is that of its latest signed version (DRAFT until one
# is signed). A preliminary report may be signed again; after final the text
# changes only by a correction or an addendum, each a new signed version.
REPORT_MACHINE = StateMachine(
    _("report"),
    {
        _R.DRAFT: {_R.PRELIMINARY, _R.FINAL},
        _R.PRELIMINARY: {_R.PRELIMINARY, _R.FINAL},
        _R.FINAL: {_R.CORRECTED, _R.ADDENDUM},
        _R.CORRECTED: {_R.CORRECTED, _R.ADDENDUM},
        _R.ADDENDUM: {_R.CORRECTED, _R.ADDENDUM},
    },
)


_P = PerformedStepStatus
# PS3.4 F.7.1: IN PROGRESS to COMPLETED or DISCONTINUED; both are final.
PERFORMED_STEP_MACHINE = StateMachine(
    _("performed procedure step"),
    {
        _P.IN_PROGRESS: {_P.IN_PROGRESS, _P.COMPLETED, _P.DISCONTINUED},
        _P.COMPLETED: set(),
        _P.DISCONTINUED: set(),
    },
)
