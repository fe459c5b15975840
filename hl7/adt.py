"""ADT (HL7 2.5.1 ch. 3): patient updates (A01, A04, A08) and merges (A40)."""

from __future__ import annotations

from hl7.errors import SEGMENT_SEQUENCE_ERROR, HL7Error, Location
from hl7.log import message_actor
from hl7.models import InboundMessage
from hl7.orders import patient_from_pid, patient_identifier
from hl7.parse import ParsedMessage
from hl7.senders import SenderRules
from ris.services.patients import patient_merge, patient_update


def handle_adt_patient_update(message: ParsedMessage, source: InboundMessage, rules: SenderRules) -> None:
    """A01 admit, A04 register, A08 update: PID creates or updates the patient."""
    patient_update(data=patient_from_pid(message, rules.mrn_authority), actor=message_actor(source))


def handle_adt_a40(message: ParsedMessage, source: InboundMessage, rules: SenderRules) -> None:
    """A40 merge patient (HL7 2.5.1 3.3.40): PID is the survivor, MRG-1 the prior
    identifier; its orders follow the survivor."""
    surviving = patient_from_pid(message, rules.mrn_authority)
    mrg = message.first("MRG")
    if mrg is None:
        raise HL7Error(SEGMENT_SEQUENCE_ERROR, "MRG segment is missing", Location("MRG"))
    prior_id, prior_issuer = patient_identifier(mrg, 1, rules.mrn_authority)
    patient_merge(
        surviving=surviving, prior_patient_id=prior_id, prior_issuer=prior_issuer, actor=message_actor(source)
    )
