"""ORU^R01 (HL7 v2 ch. 7): a signed report version, in the destination's version.

Layout after IHE RAD-28 (Rad TF-2 4.28): ORC-1 RE; OBR echoes the order's
numbers; one OBX TX per text line with OBX-3 `^SR Text`, one OBX with the
Study Instance UID. Result status P/F/C in OBR-25 and OBX-11 (tables 0123, 0085).
Built once, by the worker on the first delivery attempt after the signature
has committed; retries send the frozen text, so MSH-10 stays the same and
the EHR can drop a duplicate.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from hl7 import writer
from hl7.writer import SegmentBuilder
from ris.models import Destination, ReportVersion
from ris.names import NameGroup, PersonName
from ris.outbox import Built
from ris.states import CriticalCategory, ReportStatus

# OBX-8 abnormal flags (HL7 table 0078) of a flagged version's text rows:
# AA "critically abnormal" for a critical finding; A "abnormal" for urgent
# and unexpected significant ones, whose category an NTE after the OBR
# names (table 0078 has no code for either). Unflagged: OBX-8 empty.
ABNORMAL_FLAG = {
    CriticalCategory.CRITICAL: "AA",
    CriticalCategory.URGENT: "A",
    CriticalCategory.UNEXPECTED: "A",
}
CATEGORY_NOTE = {
    CriticalCategory.CRITICAL: "CRITICAL RESULT",
    CriticalCategory.URGENT: "URGENT RESULT",
    CriticalCategory.UNEXPECTED: "UNEXPECTED SIGNIFICANT RESULT",
}

RESULT_STATUS = {  # HL7 table 0123 / 0085
    ReportStatus.PRELIMINARY: "P",
    ReportStatus.FINAL: "F",
    ReportStatus.CORRECTED: "C",
    ReportStatus.ADDENDUM: "C",
}


def build_oru_r01(destination: Destination, context: dict[str, Any]) -> Built:
    """The outbox builder for (HL7_MLLP, "report")."""
    version = load_version(context["report_version_id"])
    control_id = f"R{version.pk}D{destination.pk}"
    return Built(oru_r01(version, destination, control_id), control_id)


def load_version(version_id: int) -> ReportVersion:
    return ReportVersion.objects.select_related("report__order__patient", "report__procedure", "signer", "author").get(
        pk=version_id
    )


def oru_r01(version: ReportVersion, destination: Destination, control_id: str, notes: tuple[str, ...] = ()) -> str:
    """The ORU of a version; `notes` are NTE comments after the OBR (an escalation's)."""
    status = RESULT_STATUS[ReportStatus(version.status)]
    hl7_version = destination.hl7_version or "2.5.1"
    body = [
        pid(version),
        pv1(version),
        orc(version, status),
        obr(version, status),
        *nte_segments((*category_notes(version), *notes)),
        *obx_segments(version, status, hl7_version),
    ]
    return writer.utf8_message(msh(destination, control_id, hl7_version), body)


def msh(destination: Destination, control_id: str, hl7_version: str) -> writer.SegmentBuilder:
    # MSG.3 message structure from v2.4
    message_type = ("ORU", "R01", "ORU_R01") if writer.version_at_least(hl7_version, "2.4") else ("ORU", "R01")
    return writer.msh(
        message_type=message_type,
        control_id=control_id,
        version=hl7_version,
        receiving_application=(destination.receiving_application,),
        receiving_facility=(destination.receiving_facility,),
    )


def pid(version: ReportVersion) -> str:
    return writer.pid(version.report.order.patient)


def pv1(version: ReportVersion) -> str:
    order = version.report.order
    # PV1-2 patient class U (unknown, table 0004): the order does not say.
    segment = SegmentBuilder("PV1").put(1, "1").put(2, "U").put(8, writer.pn_to_xcn(order.referring_physician))
    return segment.set(19, order.admission_id).text()


def orc(version: ReportVersion, status: str) -> str:
    order = version.report.order
    # ORC-5 order status (table 0038): CM once a final result exists.
    segment = SegmentBuilder("ORC").put(1, "RE").set(2, order.placer_number).set(3, order.filler_number)
    return segment.put(5, "IP" if status == "P" else "CM").put(12, writer.pn_to_xcn(order.ordering_physician)).text()


def obr(version: ReportVersion, status: str) -> str:
    order, procedure = version.report.order, version.report.procedure
    step = procedure.steps.order_by("start").first()
    segment = SegmentBuilder("OBR").put(1, "1").set(2, order.placer_number).set(3, order.filler_number)
    segment.put(
        4, writer.coded(procedure.code_value, procedure.code_meaning or procedure.description, procedure.code_scheme)
    )
    segment.put(7, writer.hl7_time(step.start) if step else "")
    segment.put(16, writer.pn_to_xcn(order.ordering_physician))
    segment.set(18, order.accession_number or "").set(19, procedure.requested_procedure_id)
    segment.put(22, writer.hl7_time(version.signed_at)).set(24, step.modality if step else "")
    return segment.put(25, status).put(32, interpreter(version.signer)).text()


def interpreter(user: User | None) -> str:
    """OBR-32 NDL: the CNN name as sub-components id&family&given."""
    if user is None:
        return ""
    return writer.subcomponents(user.get_username(), user.last_name, user.first_name)


def _signer(user: User | None) -> str:
    """OBX-16 responsible observer (XCN)."""
    if user is None:
        return ""
    return writer.xcn(PersonName(NameGroup(family=user.last_name, given=user.first_name)), user.get_username())


def category_notes(version: ReportVersion) -> tuple[str, ...]:
    category = version.critical_category
    return (CATEGORY_NOTE[CriticalCategory(category)],) if category else ()


def nte_segments(notes: tuple[str, ...]) -> list[str]:
    """NTE-2 L: comments from the filler (table 0105)."""
    return [SegmentBuilder("NTE").put(1, str(i)).put(2, "L").set(3, text).text() for i, text in enumerate(notes, 1)]


def abnormal_flag(version: ReportVersion) -> str:
    category = version.critical_category
    return ABNORMAL_FLAG[CriticalCategory(category)] if category else ""


def obx_segments(version: ReportVersion, status: str, hl7_version: str) -> list[str]:
    flag = abnormal_flag(version)
    rows = [("TX", "SR Text", str(n), line, flag) for n, line in enumerate(text_lines(version), 1)]
    # The Study Instance UID as HD from v2.5 (table 0125 of 2.3.1 has no HD: ST).
    uid_type = "HD" if writer.version_at_least(hl7_version, "2.5") else "ST"
    rows.append((uid_type, "Study Instance UID", "1", version.report.procedure.study_instance_uid, ""))
    signer, signed_at = _signer(version.signer), writer.hl7_time(version.signed_at)
    return [
        SegmentBuilder("OBX")
        .put(1, str(i))
        .put(2, kind)
        .set(3, "", code)
        .set(4, sub_id)
        .set(5, value)
        .put(8, abnormal)
        .put(11, status)
        .put(14, signed_at)
        .put(16, signer)
        .text()
        for i, (kind, code, sub_id, value, abnormal) in enumerate(rows, 1)
    ]


def text_lines(version: ReportVersion) -> list[str]:
    """The report text, one TX line each (TX keeps no line breaks inside a value)."""
    lines: list[str] = []
    for heading, text in version.sections():
        if lines:
            lines.append("")
        lines.append(f"{heading}:")
        lines.extend(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return lines
