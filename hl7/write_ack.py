"""ACK messages (HL7 v2 ch. 2): original and enhanced mode, ERR in the form of the version.

Enhanced mode (HL7 2.5.1 2.9.3), when MSH-15 or MSH-16 is valued: the accept
(commit) ACK says whether the message was safely taken - CA, CE (it could
not be stored or committed) or CR (the RIS does not take this message at
all: type, event, processing ID, sender) - and is sent as MSH-15 asks
(table 0155: AL always, NE never, ER on CE/CR only, SU on CA only). The
application ACK (AA/AE/AR) follows as MSH-16 asks, on the same connection:
the RIS has no route to a sender's own listener. After a CE/CR that was
sent, no application ACK follows. An empty one of the pair reads as AL.
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from hl7 import writer
from hl7.er7 import Delimiters, escape
from hl7.errors import HL7Error
from hl7.read_message import SUPPORTED_VERSIONS, Header

_ERR_TEXT = {
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    202: "Unsupported processing id",
    203: "Unsupported version id",
    204: "Unknown key identifier",
    205: "Duplicate key identifier",
    206: "Application record locked",
    207: "Application internal error",
}


@dataclass(frozen=True)
class Answers:
    application: str  # the AA/AE/AR ACK, always built (kept in the log)
    commit: str = ""  # the CA/CE/CR ACK, enhanced mode only
    texts: list[str] = field(default_factory=list)  # what to send, in order
    requested: bool = True  # False when MSH-15/16 asked for no answer to this outcome

    @property
    def note(self) -> str:
        """For the message log: an outcome nobody was told of says so."""
        return "" if self.requested else "no ACK requested (MSH-15/16); none sent"


# HL7 2.5.1 4.4 / 4.13: an order message is answered in its own response
# structure (the application acknowledgment); everything else, and the accept
# acknowledgment of enhanced mode (2.9.3.1), with the general ACK.
ORDER_RESPONSES = {
    ("ORM", "O01"): ("ORR", "O02", "ORR_O02"),
    ("OMI", "O23"): ("ORI", "O24", "ORI_O24"),
    ("OMG", "O19"): ("ORG", "O20", "ORG_O20"),
}


def answers_for(header: Header | None, ack_code: str, error: HL7Error | None = None, stored: bool = True) -> Answers:
    """The ACKs a message gets, by its MSH-15/16."""
    application = build_ack(header, ack_code, error, response=True)
    if header is None or not header.enhanced_mode:
        return Answers(application, texts=[application])
    commit_code = _commit_code(ack_code, error, stored)
    commit = build_ack(header, commit_code, error if commit_code != "CA" else None)
    commit_sent = _asked(header.accept_ack_type, success=commit_code == "CA")
    texts = [commit] if commit_sent else []
    # A sent CE/CR says it all; otherwise the application ACK follows as asked.
    if (commit_code == "CA" or not commit_sent) and _asked(header.application_ack_type, success=ack_code == "AA"):
        texts.append(application)
    return Answers(application, commit if commit_sent else "", texts, requested=bool(texts))


def _commit_code(ack_code: str, error: HL7Error | None, stored: bool) -> str:
    if not stored or (error is not None and error.code == 207 and ack_code == "AR"):
        return "CE"
    return "CR" if ack_code == "AR" else "CA"


def _asked(condition: str, success: bool) -> bool:
    """HL7 table 0155 for MSH-15/16."""
    condition = (condition or "AL").upper()
    if condition == "NE":
        return False
    if condition == "ER":
        return not success
    if condition == "SU":
        return success
    return True


def build_ack(header: Header | None, ack_code: str, error: HL7Error | None = None, response: bool = False) -> str:
    """The ACK for a message, as text (segments joined by CR, no framing);
    with `response`, an order message's application response (ORR^O02,
    ORI^O24, ORG^O20: MSH MSA [ERR], the optional response group left out)."""
    d = header.delimiters if header else Delimiters()
    # A version we do not speak is answered in one we do (the ACK must be readable).
    version = header.version if header and header.version in SUPPORTED_VERSIONS else "2.5.1"
    segments = [_msh(header, d, version, _message_type(header, response)), _msa(header, d, ack_code, error)]
    if error is not None:
        segments.append(_err(error, d, version))
    return writer.message(segments)


def _message_type(header: Header | None, response: bool) -> tuple[str, str, str]:
    """MSH-9 of the answer: the order response, else ACK^<the message's event>^ACK."""
    if header is None:
        return ("ACK", "", "ACK")
    key = (header.message_type.upper(), header.trigger_event.upper())
    if response and key in ORDER_RESPONSES:
        return ORDER_RESPONSES[key]
    return ("ACK", header.trigger_event, "ACK")


def _msh(header: Header | None, d: Delimiters, version: str, message_type: tuple[str, str, str]) -> str:
    """Sender and receiver swapped; MSH-18 echoes the message's own set."""
    if header is None:
        return writer.msh(message_type=message_type, control_id=_control_id(), version=version, delimiters=d).text()
    before_time, before_control, after_control = _msh_around(
        header.sending_application,
        header.sending_facility,
        header.processing_id,
        header.charset,
        d,
        version,
        message_type,
        settings.RIS_HL7_APPLICATION,
        settings.RIS_HL7_FACILITY,
    )
    return f"{before_time}{writer.hl7_time(timezone.now())}{before_control}{_control_id()}{after_control}"


# Marks no escape changes and no header holds (MSH is read as Latin-1: nothing above U+00FF).
_TIME, _CONTROL = "\ue000", "\ue001"


@functools.lru_cache(maxsize=256)
def _msh_around(
    sending_application: str,
    sending_facility: str,
    processing_id: str,
    charset: str,
    d: Delimiters,
    version: str,
    message_type: tuple[str, str, str],
    application: str,
    facility: str,
) -> tuple[str, str, str]:
    """The answer's MSH for one sender and message kind, as the text before
    MSH-7 (the time), between it and MSH-10 (the control ID), and after:
    a connection's answers differ in those two fields only. `application`
    and `facility` (the RIS's own MSH-3/4, from the settings) are part of
    the key so that a change of them is not answered from here."""
    header = writer.msh(
        message_type=message_type,
        control_id=_CONTROL,
        version=version,
        # Header values keep their components (namespace^universal ID^type).
        receiving_application=sending_application.split("^"),
        receiving_facility=sending_facility.split("^"),
        processing_id=processing_id or "P",
        charset=charset,
        delimiters=d,
    ).put(7, _TIME)
    before_time, rest = header.text().split(_TIME)
    before_control, after_control = rest.split(_CONTROL)
    return before_time, before_control, after_control


def _control_id() -> str:
    """20 random hexadecimal digits (MSH-10 is ST 20): 80 bits, unguessable and unique enough."""
    return secrets.token_hex(10)


def _msa(header: Header | None, d: Delimiters, ack_code: str, error: HL7Error | None) -> str:
    msa = writer.SegmentBuilder("MSA", d).put(1, ack_code).set(2, header.control_id if header else "")
    if error is not None:
        msa.set(3, error.text[:80])  # MSA-3 text message (deprecated, still read)
    return msa.text()


def _err(error: HL7Error, d: Delimiters, version: str) -> str:
    loc = error.location
    where = [loc.segment, str(loc.sequence) if loc.segment else "", str(loc.field or ""), str(loc.component or "")]
    code = (str(error.code), _ERR_TEXT.get(error.code, ""), "HL70357")
    err = writer.SegmentBuilder("ERR", d)
    if not writer.version_at_least(version, "2.5"):
        # v2.3.1/2.4: ERR-1 segment^sequence^field^code (CE in sub-components)
        return err.put(
            1, d.component.join([*(escape(w, d) for w in where[:3]), writer.subcomponents(*code, d=d)])
        ).text()
    # ERR-2 location, ERR-3 code, ERR-4 severity, ERR-8 user message
    err.set(2, *where).set(3, *code).put(4, error.severity).set(8, error.text)
    return err.text()
