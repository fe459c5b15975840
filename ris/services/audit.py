"""The audit trail: every door records who saw or changed which patient's data."""

from django.db.models import Model

from ris.models import AuditEvent, Patient


def audit_record(
    *,
    door: str,
    action: str,
    patient: Patient | None = None,
    obj: Model | None = None,
    user=None,
    actor: str = "",
    detail: str = "",
    address: str = "",
) -> AuditEvent:
    """Record one access. `user` for web and API; `actor` (e.g. the sending
    application or calling AE title) for HL7 and DICOM."""
    authenticated = user is not None and user.is_authenticated
    return AuditEvent.objects.create(
        door=door,
        action=action,
        patient=patient,
        user=user if authenticated else None,
        actor=(user.get_username() if authenticated else actor)[:150],
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail[:500],
        address=address[:64],
    )
