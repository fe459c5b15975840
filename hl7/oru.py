"""ORU^R01 (HL7 v2 ch. 7): a signed report version, in the destination's version.

Layout after IHE RAD-28 (Rad TF-2 4.28): ORC-1 RE; OBR echoes the order's
numbers; one OBX TX per text line with OBX-3 `^SR Text`, one OBX with the
Study Instance UID. Result status P/F/C in OBR-25 and OBX-11 (tables 0123, 0085).
Built once, when the report is signed; retries send the stored text, so
MSH-10 stays the same and the EHR can drop a duplicate.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from hl7.datatypes import site_zone
from hl7.er7 import Delimiters, escape
from ris.models import Destination, ReportVersion
from ris.outbox import Built
from ris.states import ReportStatus

D = Delimiters()
RESULT_STATUS = {  # HL7 table 0123 / 0085
    ReportStatus.PRELIMINARY: "P",
    ReportStatus.FINAL: "F",
    ReportStatus.CORRECTED: "C",
    ReportStatus.ADDENDUM: "C",
}
CHARSET = "UNICODE UTF-8"  # MSH-18, table 0211; sent only when the text is not ASCII


def build_oru_r01(destination: Destination, context: dict) -> Built:
    """The outbox builder for (HL7_MLLP, "report")."""
    version = load_version(context["report_version_id"])
    control_id = f"R{version.pk}D{destination.pk}"
    return Built(oru_r01(version, destination, control_id), control_id)


def load_version(version_id: int) -> ReportVersion:
    return ReportVersion.objects.select_related("report__order__patient", "report__procedure", "signer", "author").get(
        pk=version_id
    )


def oru_r01(version: ReportVersion, destination: Destination, control_id: str) -> str:
    status = RESULT_STATUS[version.status]
    hl7_version = destination.hl7_version or "2.5.1"
    body = [
        pid(version),
        pv1(version),
        orc(version, status),
        obr(version, status),
        *obx_segments(version, status, hl7_version),
    ]
    charset = "" if all(s.isascii() for s in body) else CHARSET
    return "\r".join([msh(destination, control_id, hl7_version, charset), *body]) + "\r"


def segment(name: str, fields: dict[int, str]) -> str:
    values = [fields.get(i, "") for i in range(1, max(fields) + 1)]
    return D.field.join([name, *values]).rstrip(D.field)


def components(*values: str) -> str:
    """Escaped values joined as components, trailing empty ones dropped."""
    return D.component.join(escape(v or "") for v in values).rstrip(D.component)


def hl7_time(moment) -> str:
    return moment.astimezone(site_zone()).strftime("%Y%m%d%H%M%S%z") if moment else ""


def msh(destination: Destination, control_id: str, hl7_version: str, charset: str) -> str:
    message_type = "ORU^R01" if hl7_version < "2.4" else "ORU^R01^ORU_R01"  # MSG.3 from v2.4
    fields = {
        1: D.encoding_characters,
        2: escape(settings.RIS_HL7_APPLICATION),
        3: escape(settings.RIS_HL7_FACILITY),
        4: escape(destination.receiving_application),
        5: escape(destination.receiving_facility),
        6: hl7_time(timezone.now()),
        8: message_type,
        9: escape(control_id),
        10: "P",
        11: hl7_version,
        17: charset,
    }
    return segment("MSH", fields)


def pid(version: ReportVersion) -> str:
    patient = version.report.order.patient
    birth = patient.birth_date.strftime("%Y%m%d") if patient.birth_date else ""
    return segment(
        "PID",
        {
            1: "1",
            3: components(patient.patient_id, "", "", patient.issuer),
            5: xpn_from_pn(patient.name),
            7: birth,
            8: patient.sex,
        },
    )


def xpn_from_pn(pn: str) -> str:
    """DICOM PN family^given^middle^prefix^suffix to XPN family^given^middle^suffix^prefix."""
    family, given, middle, prefix, suffix = (pn.split("^") + [""] * 5)[:5]
    return components(family, given, middle, suffix, prefix)


def xcn_from_pn(pn: str, identifier: str = "") -> str:
    """PN to XCN id^family^given^middle^suffix^prefix."""
    family, given, middle, prefix, suffix = (pn.split("^") + [""] * 5)[:5]
    return components(identifier, family, given, middle, suffix, prefix)


def pv1(version: ReportVersion) -> str:
    order = version.report.order
    # PV1-2 patient class U (unknown, table 0004): the order does not say.
    return segment("PV1", {1: "1", 2: "U", 8: xcn_from_pn(order.referring_physician), 19: escape(order.admission_id)})


def orc(version: ReportVersion, status: str) -> str:
    order = version.report.order
    # ORC-5 order status (table 0038): CM once a final result exists.
    return segment(
        "ORC",
        {
            1: "RE",
            2: components(order.placer_number),
            3: components(order.filler_number),
            5: "IP" if status == "P" else "CM",
            12: xcn_from_pn(order.ordering_physician),
        },
    )


def obr(version: ReportVersion, status: str) -> str:
    order, procedure = version.report.order, version.report.procedure
    step = procedure.steps.order_by("start").first()
    fields = {
        1: "1",
        2: components(order.placer_number),
        3: components(order.filler_number),
        4: components(procedure.code_value, procedure.code_meaning or procedure.description, procedure.code_scheme),
        7: hl7_time(step.start) if step else "",
        16: xcn_from_pn(order.ordering_physician),
        18: escape(order.accession_number or ""),
        19: escape(procedure.requested_procedure_id),
        22: hl7_time(version.signed_at),
        24: escape(step.modality if step else ""),
        25: status,
        32: interpreter(version.signer),
    }
    return segment("OBR", fields)


def interpreter(user) -> str:
    """OBR-32 NDL: the CNN name as sub-components id&family&given."""
    if user is None:
        return ""
    parts = (user.get_username(), user.last_name, user.first_name)
    return D.subcomponent.join(escape(p) for p in parts).rstrip(D.subcomponent)


def obx_segments(version: ReportVersion, status: str, hl7_version: str) -> list[str]:
    rows = [("TX", "^SR Text", str(n), escape(line)) for n, line in enumerate(text_lines(version), 1)]
    # The Study Instance UID as HD from v2.5 (table 0125 of 2.3.1 has no HD: ST).
    uid_type = "ST" if hl7_version < "2.5" else "HD"
    rows.append((uid_type, "^Study Instance UID", "1", escape(version.report.procedure.study_instance_uid)))
    signer = (
        xcn_from_pn(f"{version.signer.last_name}^{version.signer.first_name}", version.signer.get_username())
        if version.signer
        else ""
    )
    return [
        segment(
            "OBX",
            {1: str(i), 2: kind, 3: code, 4: sub_id, 5: value, 11: status, 14: hl7_time(version.signed_at), 16: signer},
        )
        for i, (kind, code, sub_id, value) in enumerate(rows, 1)
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
