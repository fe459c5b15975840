"""UPS-RS (PS3.18 ch. 11) as a worklist provider: each scheduled step seen
as a Unified Procedure Step workitem, moved through the PS3.4 CC.1.1 state
machine by the step services of the domain.

| UPS (0074,1000)  | scheduled step                                  |
|------------------|-------------------------------------------------|
| SCHEDULED        | SCHEDULED, ARRIVED, READY                        |
| IN PROGRESS      | STARTED, DEPARTED (claimed: `step_start_outside_modality`) |
| COMPLETED        | COMPLETED (`step_set_status`)                    |
| CANCELED         | CANCELED, DISCONTINUED (`step_cancel`)           |

A claim (SCHEDULED → IN PROGRESS) gives the workitem the performer's
Transaction UID; every later change must carry it (PS3.4 CC.1.1, CC.2.1.3).
Each change writes its event report (`UpsEvent`) in the same transaction,
for the event channel (`worklist.dicomweb.events`) to deliver.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ris import exceptions as domain
from ris.models import ScheduledProcedureStep
from ris.records import Actor, OrderData, PatientData, ProcedureData, StepData
from ris.selectors.worklist import ORDER, PATIENT, PROCEDURE, offered_to_modalities, worklist_rows
from ris.services.orders import order_place
from ris.services.steps import step_cancel, step_set_status, step_start_outside_modality
from ris.states import StepStatus
from ris.uids import new_uid
from worklist.dicomweb.json import dataset_to_json
from worklist.models import UpsEvent, UpsSubscription, UpsWorkitem

SCHEDULED, IN_PROGRESS, COMPLETED, CANCELED = "SCHEDULED", "IN PROGRESS", "COMPLETED", "CANCELED"
# PS3.4 CC.3.1: the well-known UIDs that address all workitems in a subscription
GLOBAL_SUBSCRIPTION = "1.2.840.10008.5.1.4.34.5"
FILTERED_SUBSCRIPTION = "1.2.840.10008.5.1.4.34.5.1"
STEP_STATES = {
    StepStatus.SCHEDULED: SCHEDULED,
    StepStatus.ARRIVED: SCHEDULED,
    StepStatus.READY: SCHEDULED,
    StepStatus.STARTED: IN_PROGRESS,
    StepStatus.DEPARTED: IN_PROGRESS,
    StepStatus.COMPLETED: COMPLETED,
    StepStatus.DISCONTINUED: CANCELED,
    StepStatus.CANCELED: CANCELED,
}
PRIORITIES = {"STAT": "HIGH", "HIGH": "HIGH", "ROUTINE": "MEDIUM", "MEDIUM": "MEDIUM", "LOW": "LOW"}


class UpsRefused(Exception):
    """A request the UPS state machine refuses: HTTP `status`, with the reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


@dataclass
class Workitem:
    row: dict[str, Any]
    item: UpsWorkitem

    @property
    def state(self) -> str:
        return STEP_STATES[self.row["status"]]


# --- reads -------------------------------------------------------------------


def workitems(*, states: list[str] | None = None, patient_id: str = "") -> Iterator[Workitem]:
    """Workitems in start order; by default the SCHEDULED and IN PROGRESS ones."""
    wanted = states or [SCHEDULED, IN_PROGRESS]
    condition = Q(status__in=[status for status, state in STEP_STATES.items() if state in wanted])
    condition &= offered_to_modalities()
    if patient_id:
        condition &= Q(requested_procedure__order__patient__patient_id=patient_id)
    rows = list(worklist_rows(condition))
    items = _items_of([row["pk"] for row in rows])
    for row in rows:
        yield Workitem(row, items[row["pk"]])


def workitem(uid: str) -> Workitem:
    item = UpsWorkitem.objects.filter(uid=uid).first()
    if item is None:
        raise UpsRefused(404, f"no workitem {uid}")
    (row,) = worklist_rows(Q(pk=item.step_id))
    return Workitem(row, item)


def _items_of(step_ids: list[int]) -> dict[int, UpsWorkitem]:
    """Each step's workitem, made the first time UPS-RS shows the step."""
    found = {item.step_id: item for item in UpsWorkitem.objects.filter(step_id__in=step_ids)}
    missing = [UpsWorkitem(step_id=pk, uid=new_uid()) for pk in step_ids if pk not in found]
    if missing:
        UpsWorkitem.objects.bulk_create(missing, ignore_conflicts=True)
        found = {item.step_id: item for item in UpsWorkitem.objects.filter(step_id__in=step_ids)}
    return found


def workitem_json(work: Workitem) -> dict[str, Any]:
    return dataset_to_json(workitem_dataset(work))


def workitem_dataset(work: Workitem) -> Dataset:
    """The UPS attributes of a step (PS3.4 Table CC.2.5-3); never its Transaction UID."""
    row, ds = work.row, Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.34.6.1"  # UPS Push SOP Class
    ds.SOPInstanceUID = work.item.uid
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = row[PATIENT + "name"] or ""
    ds.PatientID = row[PATIENT + "patient_id"] or ""
    ds.IssuerOfPatientID = row[PATIENT + "issuer"] or ""
    ds.PatientBirthDate = row[PATIENT + "birth_date"].strftime("%Y%m%d") if row[PATIENT + "birth_date"] else ""
    ds.PatientSex = row[PATIENT + "sex"] or ""
    ds.ProcedureStepState = work.state
    ds.ScheduledProcedureStepPriority = PRIORITIES.get(row[ORDER + "priority"] or "", "MEDIUM")
    ds.ProcedureStepLabel = row["description"] or row[PROCEDURE + "description"] or row["sps_id"]
    ds.WorklistLabel = row["modality"]
    ds.ScheduledProcedureStepStartDateTime = (
        row["start"].astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%Y%m%d%H%M%S")
    )
    ds.InputReadinessState = "READY"
    ds.ScheduledStationNameCodeSequence = _code(row["station_ae_title"], "L", row["station_name"])
    ds.ScheduledWorkitemCodeSequence = _code(row["protocol_code_value"], row["protocol_code_scheme"], "")
    ds.ReferencedRequestSequence = Sequence([_request(row)])
    ds.ProcedureStepProgressInformationSequence = Sequence(
        [Dataset.from_json(work.item.progress)] if work.item.progress else []
    )
    return ds


def _code(value: str, scheme: str, meaning: str) -> Sequence:
    if not value:
        return Sequence()
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme or "L", meaning or value
    return Sequence([code])


def _request(row: dict[str, Any]) -> Dataset:
    item = Dataset()
    item.StudyInstanceUID = row[PROCEDURE + "study_instance_uid"]
    item.AccessionNumber = row[ORDER + "accession_number"] or ""
    item.RequestedProcedureID = row[PROCEDURE + "requested_procedure_id"] or ""
    item.RequestedProcedureDescription = row[PROCEDURE + "description"] or ""
    item.ReferencedStudySequence = Sequence()
    item.RequestedProcedureCodeSequence = _code(
        row[PROCEDURE + "code_value"], row[PROCEDURE + "code_scheme"], row[PROCEDURE + "code_meaning"]
    )
    return item


# --- changes -----------------------------------------------------------------

# (0074,1200) Scheduled Procedure Step Priority -> the order's priority
ORDER_PRIORITIES = {"HIGH": "HIGH", "MEDIUM": "ROUTINE", "LOW": "LOW"}
CREATED_BY = "UPS-RS"  # the placer system of orders made by a workitem's creation


def ups_create(ds: Dataset, *, uid: str, actor: Actor) -> Workitem:
    """POST /workitems{?workitem} (PS3.4 CC.2.5.1.3): a SCHEDULED workitem
    becomes an order with one procedure and one step (`order_place`), whose
    workitem it is. The patient is found or created as for any order."""
    if str(ds.get("ProcedureStepState", "")) != SCHEDULED:
        raise UpsRefused(400, "a workitem is created SCHEDULED (0074,1000)")
    if UpsWorkitem.objects.filter(uid=uid).exists():
        raise UpsRefused(409, f"workitem {uid} exists")
    patient_id = str(ds.get("PatientID", "") or "")
    if not patient_id:
        raise UpsRefused(400, "Patient ID (0010,0020) is required")
    with transaction.atomic():
        try:
            order = order_place(actor=actor, patient=_patient_data(ds, patient_id), order=_order_data(ds, uid))
        except domain.DomainError as exc:
            raise UpsRefused(409, str(exc)) from exc
        step = ScheduledProcedureStep.objects.get(requested_procedure__order=order)
        UpsWorkitem.objects.create(step=step, uid=uid, reported_state=SCHEDULED)
    return workitem(uid)


def _patient_data(ds: Dataset, patient_id: str) -> PatientData:
    return PatientData(
        patient_id=patient_id,
        issuer=str(ds.get("IssuerOfPatientID", "") or ""),
        name=str(ds.get("PatientName", "") or "") or None,
        birth_date=_date(str(ds.get("PatientBirthDate", "") or "")),
        sex=str(ds.get("PatientSex", "") or "") or None,
    )


def _order_data(ds: Dataset, uid: str) -> OrderData:
    request = ds.ReferencedRequestSequence[0] if ds.get("ReferencedRequestSequence") else Dataset()
    stations = ds.get("ScheduledStationNameCodeSequence") or []
    step = StepData(
        modality=str(ds.get("WorklistLabel", "") or "OT")[:16],
        station_ae_title=str(stations[0].get("CodeValue", "")) if stations else "",
        start=_start(str(ds.get("ScheduledProcedureStepStartDateTime", "") or "")),
        description=str(ds.get("ProcedureStepLabel", "") or "")[:64],
    )
    procedure = ProcedureData(
        requested_procedure_id=str(request.get("RequestedProcedureID", "") or ""),
        description=str(request.get("RequestedProcedureDescription", "") or ""),
        study_instance_uid=str(request.get("StudyInstanceUID", "") or ""),
        steps=[step],
    )
    return OrderData(
        placer_system=CREATED_BY,
        placer_number=uid,
        accession_number=str(request.get("AccessionNumber", "") or ""),
        priority=ORDER_PRIORITIES.get(str(ds.get("ScheduledProcedureStepPriority", "") or ""), ""),
        procedures=[procedure],
    )


def _start(value: str) -> dt.datetime:
    """(0040,4005) DT in the site's zone (no offset); required (PS3.4 Table CC.2.5-3)."""
    try:
        naive = dt.datetime.strptime(value[:14].ljust(14, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        raise UpsRefused(
            400, "Scheduled Procedure Step Start DateTime (0040,4005) is required, YYYYMMDDHHMMSS"
        ) from None
    return naive.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))


def _date(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date() if value else None
    except ValueError:
        raise UpsRefused(400, f"Patient's Birth Date (0010,0030) {value!r} is not a DICOM date") from None


def ups_change_state(uid: str, *, state: str, transaction_uid: str, actor: Actor) -> Workitem:
    """PUT …/state (PS3.4 CC.1.1, Table CC.1.1-2): claim, complete or cancel."""
    if not transaction_uid:
        raise UpsRefused(400, "the Transaction UID (0008,1195) is required")
    with transaction.atomic():
        work = _locked(uid)
        if state == IN_PROGRESS:
            _claim(work, transaction_uid, actor)
        elif state in (COMPLETED, CANCELED):
            _end(work, state, transaction_uid, actor)
        else:
            raise UpsRefused(400, f"cannot change the state to {state!r}")
        return _reported_state(uid)


def _claim(work: Workitem, transaction_uid: str, actor: Actor) -> None:
    if work.state != SCHEDULED:
        raise UpsRefused(409, f"the workitem is {work.state}, not SCHEDULED: it cannot be claimed")
    if not ScheduledProcedureStep.objects.filter(offered_to_modalities(), pk=work.item.step_id).exists():
        raise UpsRefused(409, "the order waits for vetting: it cannot be claimed")
    step = ScheduledProcedureStep.objects.get(pk=work.item.step_id)
    step_start_outside_modality(step=step, reason=f"claimed over UPS-RS by {actor.name or actor.user}", actor=actor)
    UpsWorkitem.objects.filter(pk=work.item.pk).update(transaction_uid=transaction_uid, claimed_by=_who(actor))


def _end(work: Workitem, state: str, transaction_uid: str, actor: Actor) -> None:
    if work.state in (COMPLETED, CANCELED):
        raise UpsRefused(409, f"the workitem is already {work.state}")
    if work.state != IN_PROGRESS:
        raise UpsRefused(409, f"the workitem is {work.state}: claim it (IN PROGRESS) first")
    _check_transaction(work, transaction_uid)
    step = ScheduledProcedureStep.objects.get(pk=work.item.step_id)
    try:
        if state == COMPLETED:
            step_set_status(step=step, status=StepStatus.COMPLETED, actor=actor)
        else:
            step_cancel(step=step, reason=f"canceled over UPS-RS by {_who(actor)}", actor=actor)
    except domain.DomainError as exc:
        raise UpsRefused(409, str(exc)) from exc


def ups_update(uid: str, ds: Dataset, *, transaction_uid: str, actor: Actor) -> Workitem:
    """POST …/{workitem}?{transaction}: progress, while IN PROGRESS, by the claimant."""
    with transaction.atomic():
        work = _locked(uid)
        if work.state != IN_PROGRESS:
            raise UpsRefused(409 if work.state != SCHEDULED else 400, f"the workitem is {work.state}")
        _check_transaction(work, transaction_uid)
        sequence = ds.get("ProcedureStepProgressInformationSequence")
        if sequence:
            progress = dataset_to_json(sequence[0])
            UpsWorkitem.objects.filter(pk=work.item.pk).update(progress=progress)
            report(uid, UpsEvent.Type.PROGRESS_REPORT, state_info(IN_PROGRESS, progress=sequence[0]))
        if "ScheduledHumanPerformersSequence" in ds or "ScheduledStationNameCodeSequence" in ds:
            info = Dataset()
            for keyword in ("ScheduledHumanPerformersSequence", "ScheduledStationNameCodeSequence"):
                if keyword in ds:
                    info[keyword] = ds[keyword]
            report(uid, UpsEvent.Type.ASSIGNED, info)
        return workitem(uid)


def ups_request_cancel(uid: str, *, reason: str, actor: Actor) -> int:
    """POST …/cancelrequest (PS3.4 CC.2.2): a SCHEDULED workitem is canceled
    at once (202 is answered all the same); one IN PROGRESS gets a Cancel
    Requested event for its performer to act on."""
    with transaction.atomic():
        work = _locked(uid)
        if work.state in (COMPLETED, CANCELED):
            raise UpsRefused(409, f"the workitem is already {work.state}")
        if work.state == SCHEDULED:
            step = ScheduledProcedureStep.objects.get(pk=work.item.step_id)
            step_cancel(step=step, reason=reason or f"cancel requested over UPS-RS by {_who(actor)}", actor=actor)
            _reported_state(uid)
            return 202
        UpsWorkitem.objects.filter(pk=work.item.pk).update(cancel_requested=True)
        info = Dataset()
        info.ReasonForCancellation = (reason or "cancel requested")[:1024]
        report(uid, UpsEvent.Type.CANCEL_REQUESTED, info)
        return 202


def _locked(uid: str) -> Workitem:
    item = UpsWorkitem.objects.select_for_update().filter(uid=uid).first()
    if item is None:
        raise UpsRefused(404, f"no workitem {uid}")
    ScheduledProcedureStep.objects.select_for_update().filter(pk=item.step_id).first()
    (row,) = worklist_rows(Q(pk=item.step_id))
    return Workitem(row, item)


def _check_transaction(work: Workitem, transaction_uid: str) -> None:
    if not transaction_uid or transaction_uid != work.item.transaction_uid:
        raise UpsRefused(400, "the Transaction UID does not match the one that claimed the workitem")


def _reported_state(uid: str) -> Workitem:
    work = workitem(uid)
    report_state(work.item, work.state)
    return work


def report_state(item: UpsWorkitem, state: str) -> None:
    """A State Report when the workitem's state is not the one last reported."""
    if UpsWorkitem.objects.filter(pk=item.pk).exclude(reported_state=state).update(reported_state=state):
        report(item.uid, UpsEvent.Type.STATE_REPORT, state_info(state))


def on_step_saved(sender: Any, instance: ScheduledProcedureStep, update_fields: Any = None, **kwargs: Any) -> None:
    """post_save of a step whose status moved (`ris.services.steps.step_move`),
    whoever moved it: MPPS, a page, HL7, UPS-RS. Subscribers hear of it in
    the transaction of the move. A step UPS-RS never showed gets its workitem
    only while someone holds a global subscription."""
    if update_fields is None or "status" not in update_fields:
        return
    item = UpsWorkitem.objects.filter(step_id=instance.pk).first()
    if item is None:
        if not UpsSubscription.objects.filter(workitem_uid="", suspended=False).exists():
            return
        item = _items_of([instance.pk])[instance.pk]
    report_state(item, STEP_STATES[StepStatus(instance.status)])


def state_info(state: str, *, progress: Dataset | None = None) -> Dataset:
    info = Dataset()
    info.ProcedureStepState = state
    if progress is not None:
        info.ProcedureStepProgressInformationSequence = Sequence([progress])
    return info


def report(uid: str, event_type: int, info: Dataset) -> None:
    """The event report (PS3.4 CC.2.4): its information, and the Affected SOP
    Instance UID and Event Type ID that the N-EVENT-REPORT would carry."""
    body = dataset_to_json(info)
    body["00001000"] = {"vr": "UI", "Value": [uid]}
    body["00001002"] = {"vr": "US", "Value": [int(event_type)]}
    UpsEvent.objects.create(workitem_uid=uid, event_type=event_type, report=dict(sorted(body.items())))


def scp_status_change(status: str) -> None:
    """SCP Status Change (Event Type 4, PS3.4 CC.2.4.2): RESTARTED or GOING DOWN, to every subscriber."""
    info = Dataset()
    info.SCPStatus = status
    body = dataset_to_json(info)
    body["00001000"] = {"vr": "UI", "Value": [GLOBAL_SUBSCRIPTION]}
    body["00001002"] = {"vr": "US", "Value": [int(UpsEvent.Type.SCP_STATUS_CHANGE)]}
    UpsEvent.objects.create(workitem_uid="", event_type=UpsEvent.Type.SCP_STATUS_CHANGE, report=body)


def _who(actor: Actor) -> str:
    return str(actor.user.get_username() if actor.user is not None else actor.name)[:150]
