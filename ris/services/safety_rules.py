"""Safety screening reads: an order's current screening values, and the rules
they break (docs/safety.md), for the booking and start services, the board,
the booking form, the order and reading pages and the API.

A rule looks at the order's procedures as the catalogue describes them
(`Procedure.contrast`, `Procedure.mr_checklist`), its steps' modalities and
the latest value of each screening item. Thresholds and the rules a site
turns off are settings (`RIS_SAFETY_*`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ris.models import (
    Contrast,
    ImagingOrder,
    Procedure,
    RequestedProcedure,
    SafetyAlert,
    SafetyItem,
    SafetyRecord,
    ScheduledProcedureStep,
)

# The rules, by the name settings and the audit trail use.
CONTRAST_EGFR = "contrast_egfr"
CONTRAST_ALLERGY = "contrast_allergy"
CONTRAST_WEIGHT = "contrast_weight"
MR_SAFETY = "mr_safety"
PREGNANCY_RADIATION = "pregnancy_radiation"
RULES = (CONTRAST_EGFR, CONTRAST_ALLERGY, CONTRAST_WEIGHT, MR_SAFETY, PREGNANCY_RADIATION)

# Coded answers (SafetyRecord.value)
YES, NO, UNKNOWN = "yes", "no", "unknown"
IMPLANT_VALUES = ("none", "safe", "conditional", "unsafe", UNKNOWN)
PREGNANCY_VALUES = ("not-pregnant", "possible", "pregnant", UNKNOWN, "not-applicable")


@dataclass(frozen=True)
class SafetyFlag:
    rule: str  # one of RULES, or "alert" (an exam started against a rule)
    message: str  # for people, in the active language


@dataclass
class _Exam:
    """What the rules need of one order, read in a few queries for many orders."""

    contrast: set[str] = field(default_factory=set)
    mr_checklist: bool = False
    modalities: set[str] = field(default_factory=set)
    screening: dict[str, SafetyRecord] = field(default_factory=dict)
    alerts: list[SafetyAlert] = field(default_factory=list)


def current_screening(order: ImagingOrder | int) -> dict[str, SafetyRecord]:
    """The latest value of each item recorded for the order."""
    order_id = order if isinstance(order, int) else order.pk
    return _latest(SafetyRecord.objects.filter(order_id=order_id)).get(order_id, {})


def screenings_for_orders(order_ids: Iterable[int]) -> dict[int, dict[str, SafetyRecord]]:
    """The current screening of many orders (an API list) in one query."""
    return _latest(SafetyRecord.objects.filter(order_id__in=set(order_ids)))


def screening_history(order: ImagingOrder) -> list[SafetyRecord]:
    return list(SafetyRecord.objects.filter(order=order).select_related("user"))


def safety_flags(order: ImagingOrder | int) -> list[SafetyFlag]:
    """The rules the order breaks now, and the alerts its exams raised."""
    order_id = order if isinstance(order, int) else order.pk
    return flags_for_orders([order_id])[order_id]


def flags_for_orders(order_ids: Iterable[int]) -> dict[int, list[SafetyFlag]]:
    """Flags of many orders (a board, a list) in four queries."""
    exams = _exams(set(order_ids))
    return {order_id: _alerts(exam) + broken_rules(exam) for order_id, exam in exams.items()}


def rules_broken_by(order: ImagingOrder | int) -> list[SafetyFlag]:
    """The rules the order breaks now (not the alerts): what a booking or a start checks."""
    order_id = order if isinstance(order, int) else order.pk
    return broken_rules(_exams({order_id})[order_id])


def broken_rules(exam: _Exam, today: dt.date | None = None) -> list[SafetyFlag]:
    today = today or timezone.localdate()
    off = set(settings.RIS_SAFETY_RULES_OFF)
    flags: list[SafetyFlag] = []
    for rule, check in _CHECKS:
        if rule in off:
            continue
        message = check(exam, today)
        if message:
            flags.append(SafetyFlag(rule, message))
    return flags


def _exams(order_ids: set[int]) -> dict[int, _Exam]:
    exams = {order_id: _Exam() for order_id in order_ids}
    procedures = list(
        RequestedProcedure.objects.filter(order_id__in=order_ids).values("order_id", "code_value", "code_scheme")
    )
    entries = _catalogue({row["code_value"] for row in procedures if row["code_value"]})
    for row in procedures:
        entry = _entry(entries, row["code_value"], row["code_scheme"])
        if entry is not None:
            exam = exams[row["order_id"]]
            if entry.contrast != Contrast.NONE:
                exam.contrast.add(entry.contrast)
            exam.mr_checklist |= entry.mr_checklist
    steps = ScheduledProcedureStep.objects.filter(requested_procedure__order_id__in=order_ids)
    for order_id, modality in steps.values_list("requested_procedure__order_id", "modality"):
        exams[order_id].modalities.add(modality)
    for order_id, screening in _latest(SafetyRecord.objects.filter(order_id__in=order_ids)).items():
        exams[order_id].screening = screening
    for alert in SafetyAlert.objects.filter(order_id__in=order_ids, acknowledged_at__isnull=True):
        exams[alert.order_id].alerts.append(alert)
    return exams


def _catalogue(codes: set[str]) -> dict[str, list[Procedure]]:
    entries: dict[str, list[Procedure]] = {}
    for entry in Procedure.objects.filter(code__in=codes).only("code", "code_scheme", "contrast", "mr_checklist"):
        entries.setdefault(entry.code, []).append(entry)
    return entries


def _entry(entries: dict[str, list[Procedure]], code: str, scheme: str) -> Procedure | None:
    """The catalogue entry of a code, for the sender's scheme or for any (as catalogue_entry)."""
    return next((e for e in entries.get(code, []) if e.code_scheme in (scheme, "")), None)


def _latest(records: QuerySet[SafetyRecord]) -> dict[int, dict[str, SafetyRecord]]:
    latest: dict[int, dict[str, SafetyRecord]] = {}
    for record in records.order_by("-recorded_at", "-pk"):
        latest.setdefault(record.order_id, {}).setdefault(record.item, record)
    return latest


def _alerts(exam: _Exam) -> list[SafetyFlag]:
    return [
        SafetyFlag("alert", _("Started against a safety rule: %(reason)s") % {"reason": a.reason}) for a in exam.alerts
    ]


def _contrast_egfr(exam: _Exam, today: dt.date) -> str:
    if not exam.contrast:
        return ""
    egfr = exam.screening.get(SafetyItem.EGFR)
    minimum = settings.RIS_SAFETY_EGFR_MIN
    if egfr is None or egfr.number is None:
        return _("Contrast exam: no eGFR recorded.")
    if float(egfr.number) < minimum:
        return _("Contrast exam: eGFR %(value)s is under %(minimum)s.") % {
            "value": f"{float(egfr.number):g}",
            "minimum": f"{minimum:g}",
        }
    age = settings.RIS_SAFETY_EGFR_MAX_AGE_DAYS
    measured = egfr.measured_on or timezone.localdate(egfr.recorded_at)
    if (today - measured).days > age:
        return _("Contrast exam: the eGFR of %(date)s is older than %(days)s days.") % {
            "date": measured.isoformat(),
            "days": age,
        }
    return ""


def _contrast_allergy(exam: _Exam, today: dt.date) -> str:
    allergy = exam.screening.get(SafetyItem.CONTRAST_ALLERGY)
    if not exam.contrast or allergy is None or allergy.value != YES:
        return ""
    return _("Contrast exam: contrast allergy recorded (%(detail)s).") % {"detail": allergy.detail or _("no detail")}


def _contrast_weight(exam: _Exam, today: dt.date) -> str:
    weight = exam.screening.get(SafetyItem.WEIGHT)
    if not exam.contrast or (weight is not None and weight.number is not None):
        return ""
    return _("Contrast exam: no weight recorded for the dose.")


def _mr_safety(exam: _Exam, today: dt.date) -> str:
    if "MR" not in exam.modalities:
        return ""
    pacemaker = exam.screening.get(SafetyItem.MR_PACEMAKER)
    implant = exam.screening.get(SafetyItem.MR_IMPLANT)
    if pacemaker is not None and pacemaker.value == YES:
        return _("MR exam: the patient has a pacemaker or defibrillator.")
    if implant is not None and implant.value == "unsafe":
        return _("MR exam: MR-unsafe implant (%(detail)s).") % {"detail": implant.detail or _("no detail")}
    unscreened = any(record is None or record.value in ("", UNKNOWN) for record in (pacemaker, implant))
    if (exam.mr_checklist or pacemaker or implant) and unscreened:
        return _("MR exam: the MR safety checklist (pacemaker, implants) is not completed.")
    return ""


def _pregnancy_radiation(exam: _Exam, today: dt.date) -> str:
    pregnancy = exam.screening.get(SafetyItem.PREGNANCY)
    ionising = exam.modalities & set(settings.RIS_SAFETY_IONISING_MODALITIES)
    if not ionising or pregnancy is None or pregnancy.value not in ("pregnant", "possible"):
        return ""
    return _("Ionising radiation (%(modality)s) and the patient is or may be pregnant.") % {
        "modality": ", ".join(sorted(ionising))
    }


_CHECKS = (
    (CONTRAST_EGFR, _contrast_egfr),
    (CONTRAST_ALLERGY, _contrast_allergy),
    (CONTRAST_WEIGHT, _contrast_weight),
    (MR_SAFETY, _mr_safety),
    (PREGNANCY_RADIATION, _pregnancy_radiation),
)
