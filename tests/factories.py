"""Small builders for tests, made through the services like any door would:
users in a role, rooms open on weekdays, orders."""

from __future__ import annotations

import datetime as dt
import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.utils import timezone

from ris.models import AuditEvent, OpeningHours, Procedure, Room, ScheduledProcedureStep, Station
from ris.records import Actor, OrderData, PatientData, ProcedureData, StepData
from ris.roles import ensure_roles
from ris.services.orders import order_place

_numbers = itertools.count(1)
PASSWORD = "correct horse battery staple"
# The patient data the factories below write, looked for in every log after
# a run (tests/phi_scan.py, with every patient row the run saved).
PHI_VALUES = {"JANE", "MUELLER", "HANS", "PAT6001", "1980-01-01", "19800101", "1970-02-15", "19700215"}
# Who the tests' direct service calls act as: a system actor, not a person.
TEST_ACTOR = Actor(door=AuditEvent.Door.SYSTEM, name="tests")


def actor_of(user: User, door: str = AuditEvent.Door.WEB) -> Actor:
    """A person acting through a door, as the doors build one."""
    return Actor(door=door, user=user, address="127.0.0.1")


def user_with_role(role: str | None, username: str | None = None) -> User:
    user = User.objects.create_user(
        username or f"{(role or 'norole').replace(' ', '_')}{next(_numbers)}", password=PASSWORD
    )
    if role:
        ensure_roles()
        user.groups.add(Group.objects.get(name=role))
    return user


def api_token(user: User, **kwargs) -> str:
    """A live API token of `user`: the key to send as `Authorization: Token <key>`."""
    from ris.services.tokens import token_issue

    return token_issue(actor=TEST_ACTOR, user=user, **kwargs)[1]


def room(code="CT1", modality="CT", *, opens=dt.time(7), closes=dt.time(19), capacity=1, ae_title=None) -> Room:
    station = Station.objects.create(ae_title=ae_title or f"{code}_AE", modality=modality, station_name=code)
    row = Room.objects.create(
        code=code, name=f"{modality} room {code}", modality=modality, station=station, capacity=capacity
    )
    for weekday in range(7):
        OpeningHours.objects.create(room=row, weekday=weekday, opens=opens, closes=closes)
    return row


def procedure(code="CTHEAD", modality="CT", minutes=20, name="CT Head") -> Procedure:
    return Procedure.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "modality": modality,
            "default_duration_minutes": minutes,
            "preparation_instructions": "Remove metal objects.",
        },
    )[0]


def step(
    *,
    patient_id="P1",
    name="DOE^JANE",
    modality="CT",
    code="CTHEAD",
    accession="",
    start: dt.datetime | None = None,
    referring="",
    priority="ROUTINE",
) -> ScheduledProcedureStep:
    order = order_place(
        actor=TEST_ACTOR,
        patient=PatientData(patient_id=patient_id, name=name, birth_date=dt.date(1980, 1, 1), sex="F"),
        order=OrderData(
            accession_number=accession,
            referring_physician=referring,
            priority=priority,
            procedures=[
                ProcedureData(code_value=code, description=code, steps=[StepData(modality=modality, start=start)])
            ],
        ),
    )
    return ScheduledProcedureStep.objects.get(requested_procedure__order=order)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An aware datetime at a site-local wall time."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def next_monday() -> dt.date:
    today = timezone.localdate()
    return today + dt.timedelta(days=(7 - today.weekday()) or 7)


def radiologist(username: str = "drhouse", first: str = "Greg", last: str = "House"):
    """A user in the radiologist role (reads patients, writes and signs reports)."""
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"first_name": first, "last_name": last}
    )
    if created:
        ensure_roles()
        user.groups.add(Group.objects.get(name="radiologist"))
    return user


def placed_order(
    *,
    accession: str = "ACC6001",
    patient_id: str = "PAT6001",
    modality: str = "CT",
    placer: str = "PL6001",
    name: str = "MUELLER^HANS",
    priority: str = "ROUTINE",
    study_uid: str = "",
    start: dt.datetime | None = None,
):
    step = StepData(modality=modality, start=start or timezone.now() - dt.timedelta(hours=2), description="CT head")
    procedure = ProcedureData(
        code_value="CTHEAD",
        code_scheme="L",
        code_meaning="CT head without contrast",
        study_instance_uid=study_uid,
        steps=[step],
    )
    order = OrderData(
        placer_system="EHR^HOSP",
        placer_number=placer,
        accession_number=accession,
        ordering_physician="WHO^JOHN",
        priority=priority,
        procedures=[procedure],
    )
    patient = PatientData(patient_id=patient_id, issuer="HOSP", name=name, birth_date=dt.date(1970, 2, 15), sex="M")
    return order_place(actor=TEST_ACTOR, patient=patient, order=order)


def signed_final_report(*, procedure=None, findings="No bleed.", impression="Normal.", critical_category: str = ""):
    """A placed order's report, drafted and signed final by the radiologist
    (flagged with `critical_category` when one is given)."""
    from ris.services.reports import report_save_draft, report_sign
    from ris.states import ReportStatus

    procedure = procedure or placed_order().procedures.get()
    draft = report_save_draft(
        actor=TEST_ACTOR, procedure=procedure, author=radiologist(), findings=findings, impression=impression
    )
    return report_sign(
        actor=TEST_ACTOR,
        report=draft.report,
        signer=radiologist(),
        status=ReportStatus.FINAL,
        critical_category=critical_category,
    )
