"""Plain typed records the doors hand to the services.

They carry values already decoded from a wire format (HL7, DICOM, forms) and
know nothing of it. `None` means "not given: keep what is stored"; the
CLEAR marker (HL7 `""`) means "erase the stored value". In an order change
(HL7 ORC-1 XO) an empty string is "not given" too, as HL7 sends it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, cast

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

CLEAR = "\x00CLEAR"
_T = TypeVar("_T")


@dataclass(frozen=True)
class Actor:
    """Who asks a service for a change or a read, and through which door.

    `door` is an AuditEvent.Door value. A person is `user`; a peer without
    one (an HL7 sending application, a calling AE title, a worker) is `name`.
    `address` is where the request came from; `via` what carried it (an HTTP
    method and path, an HL7 message type and control ID), kept as the audit
    event's detail."""

    door: str
    user: User | AnonymousUser | None = None
    name: str = ""
    address: str = ""
    via: str = ""

    @property
    def person(self) -> User | None:
        """The authenticated user, if a person acts."""
        user = self.user
        if user is None or not user.is_authenticated:
            return None
        return user

    @property
    def label(self) -> str:
        """The name the audit trail keeps: the user name, else the peer's."""
        person = self.person
        return person.get_username() if person is not None else self.name


@dataclass(frozen=True)
class PatientData:
    patient_id: str
    issuer: str = ""
    name: str | None = None  # DICOM PN alphabetic group
    name_ideographic: str | None = None
    name_phonetic: str | None = None
    birth_date: dt.date | str | None = None  # a date, CLEAR or None
    sex: str | None = None


@dataclass(frozen=True)
class StepData:
    sps_id: str = ""
    modality: str = ""
    station_ae_title: str = ""
    station_name: str = ""
    location: str = ""
    start: dt.datetime | None = None
    expected_duration_minutes: int | None = None
    performing_physician: str = ""
    description: str = ""
    protocol_code_value: str = ""
    protocol_code_scheme: str = ""
    protocol_code_meaning: str = ""


@dataclass(frozen=True)
class ProcedureData:
    requested_procedure_id: str = ""
    code_value: str = ""
    code_scheme: str = ""
    code_meaning: str = ""
    description: str = ""
    study_instance_uid: str = ""
    steps: list[StepData] = field(default_factory=list)


@dataclass(frozen=True)
class StationRule:
    """Where an order source sends the steps that name no station: to this
    station, for this procedure code ('' = any) and modality ('' = any).
    The door that knows the source resolves its rules, most specific first."""

    station_ae_title: str
    procedure_code: str = ""
    modality: str = ""


@dataclass(frozen=True)
class SafetyData:
    """One safety screening value a door read (an HL7 OBX or AL1, a form):
    `item` a SafetyItem, `value` its coded answer, `number` a measurement."""

    item: str
    value: str = ""
    number: float | None = None
    measured_on: dt.date | None = None
    detail: str = ""


@dataclass(frozen=True)
class OrderData:
    placer_system: str = ""
    placer_number: str = ""
    filler_number: str = ""
    accession_number: str = ""
    ordering_physician: str = ""
    referring_physician: str = ""
    reason: str = ""
    priority: str = ""  # '' = not given (ROUTINE for a new order)
    admission_id: str = ""
    procedures: list[ProcedureData] = field(default_factory=list)
    station_rules: tuple[StationRule, ...] = ()  # the source's routing, most specific first
    safety: tuple[SafetyData, ...] = ()  # screening values the order carries (HL7 OBX, AL1)


@dataclass(frozen=True)
class CodedValue:
    value: str
    scheme: str = ""
    meaning: str = ""


@dataclass(frozen=True)
class ScheduledStepRef:
    """One Scheduled Step Attributes item of an MPPS (PS3.4 F.7.2.1)."""

    study_instance_uid: str
    accession_number: str = ""
    requested_procedure_id: str = ""
    sps_id: str = ""


@dataclass(frozen=True)
class DoseData:
    """Dose-related values an MPPS may carry (PS3.3 C.4.16); None = not sent."""

    fluoroscopy_time_seconds: int | None = None
    exposure_count: int | None = None
    entrance_dose_mgy: float | None = None
    area_dose_product: float | None = None  # dGy*cm2
    exposure_dose: list[dict] | None = None  # Exposure Dose Sequence items, as plain dicts


@dataclass(frozen=True)
class PerformedStepData:
    """An MPPS as created (N-CREATE)."""

    sop_instance_uid: str
    status: str
    pps_id: str
    station_ae_title: str
    start: dt.datetime
    modality: str
    scheduled_steps: list[ScheduledStepRef]
    station_name: str = ""
    location: str = ""
    end: dt.datetime | None = None
    description: str = ""
    patient_id: str = ""
    patient_name: str = ""
    performed_series: list[dict] = field(default_factory=list)
    dose: DoseData = DoseData()
    discontinuation_reason: CodedValue | None = None
    dataset: dict = field(default_factory=dict)  # the whole dataset, opaque to the domain
    sender: str = ""


@dataclass(frozen=True)
class PerformedStepChange:
    """An MPPS update (N-SET). None means "not sent"; CLEAR means sent empty.

    `fixed` holds the values of attributes fixed at creation that the sender
    repeated (e.g. "pps_id", "start"); they must equal what is stored."""

    status: str | None = None
    end: dt.datetime | str | None = None
    description: str | None = None
    performed_series: list[dict] | None = None
    dose: DoseData = DoseData()
    discontinuation_reason: CodedValue | str | None = None
    fixed: dict = field(default_factory=dict)
    dataset: dict = field(default_factory=dict)  # the elements sent, opaque to the domain


@dataclass(frozen=True)
class PerformedStepSender:
    """The AE that sends an MPPS change, and what it may change besides the
    instances it created itself: any (`any_instance`), or those performed on
    the stations it stands for (`stations`)."""

    ae_title: str
    any_instance: bool = False
    stations: frozenset[str] = frozenset()

    def may_change(self, *, created_by: str, station_ae_title: str) -> bool:
        return self.any_instance or self.ae_title == created_by or station_ae_title in self.stations


@dataclass(frozen=True)
class MessageHeader:
    """Who sent a message and what it is (HL7 MSH-3, -4, -10, -9, -12)."""

    sending_application: str = ""
    sending_facility: str = ""
    control_id: str = ""
    message_type: str = ""
    version: str = ""


@dataclass(frozen=True)
class OrderKey:
    """How a sender names an existing order: its placer number within its
    placer system, or the filler number the RIS gave it."""

    placer_system: str = ""
    placer_number: str = ""
    filler_number: str = ""


def plain(record: _T) -> _T:
    """A copy with every CLEAR read as empty: what a new record starts from.
    A record (or list) that holds no CLEAR is returned as it is: records are
    frozen, and the HL7 door reads every new order through here."""
    if isinstance(record, list):
        items = [plain(item) for item in record]
        return record if all(new is old for new, old in zip(items, record, strict=True)) else cast("_T", items)
    if not dataclasses.is_dataclass(record) or isinstance(record, type):
        return cast("_T", "") if record == CLEAR else record
    values, changed = {}, False
    for name in _field_names(type(record)):
        value = getattr(record, name)
        if type(value) is str:
            new = "" if value == CLEAR else value
        elif value is None or type(value) in _ATOMS:  # most fields: nothing to look into
            continue
        else:
            new = plain(value)
        if new is not value:
            values[name], changed = new, True
    return cast("_T", dataclasses.replace(record, **values)) if changed else record


_ATOMS = frozenset({bool, int, float, dt.date, dt.datetime, tuple})  # never CLEAR, never a record to look into


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@dataclass(frozen=True)
class InstanceData:
    """One SOP instance an Instance Availability Notification lists (PS3.3 C.4.23.1)."""

    series_instance_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    availability: str  # ONLINE, NEARLINE, OFFLINE, UNAVAILABLE
    retrieve_ae_title: str = ""


@dataclass(frozen=True)
class AvailabilityData:
    """An Instance Availability Notification as the archive sent it (PS3.4 R.2)."""

    sop_instance_uid: str
    study_instance_uid: str
    performed_step_uids: tuple[str, ...] = ()
    instances: tuple[InstanceData, ...] = ()
    sender: str = ""
    dataset: dict[str, object] = field(default_factory=dict)
