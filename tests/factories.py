"""Domain rows for tests, made through the services like any door would."""
from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.utils import timezone

from ris.records import OrderData, PatientData, ProcedureData, StepData
from ris.services.orders import order_place


def radiologist(username: str = "drhouse", first: str = "Greg", last: str = "House"):
    user, _ = get_user_model().objects.get_or_create(username=username,
                                                     defaults={"first_name": first, "last_name": last})
    return user


def placed_order(*, accession: str = "ACC6001", patient_id: str = "PAT6001", modality: str = "CT",
                 placer: str = "PL6001", name: str = "MUELLER^HANS", priority: str = "ROUTINE",
                 study_uid: str = "", start: dt.datetime | None = None):
    step = StepData(modality=modality, start=start or timezone.now() - dt.timedelta(hours=2),
                    description="CT head")
    procedure = ProcedureData(code_value="CTHEAD", code_scheme="L", code_meaning="CT head without contrast",
                              study_instance_uid=study_uid, steps=[step])
    order = OrderData(placer_system="EHR^HOSP", placer_number=placer, accession_number=accession,
                      ordering_physician="WHO^JOHN", priority=priority, procedures=[procedure])
    patient = PatientData(patient_id=patient_id, issuer="HOSP", name=name, birth_date=dt.date(1970, 2, 15), sex="M")
    return order_place(patient=patient, order=order)
