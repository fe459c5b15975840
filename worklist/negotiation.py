"""Association negotiation as acceptor (PS3.8 9.3.2-9.3.3, PS3.7 Annex D).

pynetdicom decodes the A-ASSOCIATE-RQ and encodes the A-ASSOCIATE-AC and
negotiates the presentation contexts and roles; this module decides what we
answer to each user information item.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    AsynchronousOperationsWindowNegotiation,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
    SCP_SCU_RoleSelectionNegotiation,
    UserIdentityNegotiation,
)
from pynetdicom.presentation import PresentationContext, negotiate_as_acceptor

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"  # PS3.7 A.2.1
VERIFICATION = "1.2.840.10008.1.1"
MODALITY_WORKLIST_FIND = "1.2.840.10008.5.1.4.31"
MPPS = "1.2.840.10008.3.1.2.3.3"
# Storage (PS3.4 B.5): the radiation dose SRs only (worklist/store.py)
DOSE_STORAGE = (
    "1.2.840.10008.5.1.4.1.1.88.67",  # X-Ray Radiation Dose SR
    "1.2.840.10008.5.1.4.1.1.88.76",  # Enhanced X-Ray Radiation Dose SR
    "1.2.840.10008.5.1.4.1.1.88.68",  # Radiopharmaceutical Radiation Dose SR
)
INSTANCE_AVAILABILITY_NOTIFICATION = "1.2.840.10008.5.1.4.33"  # PS3.4 R.3
SOP_CLASSES = (VERIFICATION, MODALITY_WORKLIST_FIND, MPPS, INSTANCE_AVAILABILITY_NOTIFICATION, *DOSE_STORAGE)
# Our order of preference: the first of these the requestor proposes in a context is chosen.
TRANSFER_SYNTAXES = (
    ImplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
)
# The RIS's own implementation class (PS3.7 D.3.3.2): a UUID-derived UID (PS3.5 B.2), fixed for the product.
IMPLEMENTATION_CLASS_UID = "2.25.243012849716391574128805093542263125461"
IMPLEMENTATION_VERSION_NAME = "RIS_0_1"


@dataclass
class Accepted:
    """What an accepted association agreed: contexts by ID and the peer's limits."""

    calling_ae_title: str
    called_ae_title: str
    contexts: dict[int, PresentationContext]
    peer_max_pdu: int
    user_identity: UserIdentityNegotiation | None = None
    ac_pdu: bytes = b""
    rejected: list[PresentationContext] = field(default_factory=list)


def decode_request(body: bytes) -> A_ASSOCIATE:
    """An A-ASSOCIATE-RQ's body (after the six-byte header) as pynetdicom's primitive."""
    rq = A_ASSOCIATE_RQ()
    rq.decode(b"\x01\x00" + len(body).to_bytes(4, "big") + body)
    return rq.to_primitive()


def supported_contexts() -> list[PresentationContext]:
    contexts = []
    for sop_class in SOP_CLASSES:
        context = PresentationContext()
        context.abstract_syntax = UID(sop_class)
        context.transfer_syntax = list(TRANSFER_SYNTAXES)
        contexts.append(context)
    return contexts


_SUPPORTED = supported_contexts()


def accept(request: A_ASSOCIATE, announced_pdu: int) -> Accepted:
    """Negotiate the contexts and answer the user information items."""
    roles = {
        item.sop_class_uid: (item.scu_role, item.scp_role) for item in _items(request, SCP_SCU_RoleSelectionNegotiation)
    }
    result, role_replies = negotiate_as_acceptor(request.presentation_context_definition_list, _SUPPORTED, roles)
    accepted = {int(cx.context_id): cx for cx in result if cx.result == 0x00 and cx.context_id is not None}
    answer = A_ASSOCIATE()
    answer.application_context_name = UID(APPLICATION_CONTEXT)
    answer.calling_ae_title = request.calling_ae_title
    answer.called_ae_title = request.called_ae_title
    answer.result, answer.result_source = 0x00, 0x01
    answer.presentation_context_definition_results_list = result
    answer.user_information = _user_information(request, announced_pdu) + list(role_replies)
    identities = _items(request, UserIdentityNegotiation)
    return Accepted(
        calling_ae_title=request.calling_ae_title.strip(),
        called_ae_title=request.called_ae_title.strip(),
        contexts=accepted,
        peer_max_pdu=int(request.maximum_length_received or 0),
        user_identity=identities[0] if identities else None,
        ac_pdu=A_ASSOCIATE_AC(answer).encode(),
        rejected=[cx for cx in result if cx.result != 0x00],
    )


def _user_information(request: A_ASSOCIATE, announced_pdu: int) -> list:  # type: ignore[type-arg]
    maximum = MaximumLengthNotification()
    maximum.maximum_length_received = announced_pdu
    uid = ImplementationClassUIDNotification()
    uid.implementation_class_uid = UID(IMPLEMENTATION_CLASS_UID)
    version = ImplementationVersionNameNotification()
    version.implementation_version_name = IMPLEMENTATION_VERSION_NAME
    items: list = [maximum, uid, version]  # type: ignore[type-arg]
    if _items(request, AsynchronousOperationsWindowNegotiation):
        # PS3.7 D.3.3.3: we invoke and perform one operation at a time.
        window = AsynchronousOperationsWindowNegotiation()
        window.maximum_number_operations_invoked = 1
        window.maximum_number_operations_performed = 1
        items.append(window)
    # SOP Class Extended Negotiation: none supported, so no reply item (PS3.7 D.3.3.5).
    # User Identity: accepted without verification, so no positive response (PS3.7 D.3.3.7).
    return items


def _items(request: A_ASSOCIATE, kind: type) -> list:  # type: ignore[type-arg]
    return [item for item in request.user_information if isinstance(item, kind)]
