"""A signed report version as a printable PDF, with the site's header
(RIS_SITE_NAME, RIS_SITE_ADDRESS). Built with fpdf2 (pure Python).

The text is set in RIS_REPORT_FONT, a TrueType font, so that names in any
script print; without that file a built-in Latin-1 font is used and
characters it lacks print as "?".
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf import FPDF

from ris.models import ReportVersion
from ris.names import PersonName

FAMILY = "ReportFont"
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)  # one line per glyph table otherwise


class ReportPDF(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.unicode = _add_font(self)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 16, 18)

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(FAMILY if self.unicode else "Helvetica", "B" if bold else "", size)

    def text_of(self, value: str) -> str:
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-14)
        self.font(8)
        page = _("Page %(page)s of %(pages)s") % {"page": self.page_no(), "pages": "{nb}"}
        self.cell(0, 5, self.text_of(f"{self.footer_text} · {page}"), align="C")


def _add_font(pdf: FPDF) -> bool:
    regular = Path(settings.RIS_REPORT_FONT)
    if not regular.is_file():
        return False
    bold = regular.with_name(regular.stem + "-Bold" + regular.suffix)
    pdf.add_font(FAMILY, "", str(regular))
    pdf.add_font(FAMILY, "B", str(bold if bold.is_file() else regular))
    return True


def report_pdf(version: ReportVersion) -> bytes:
    """The PDF of one signed version: header, patient and exam, text, signature."""
    report = version.report
    order = report.order
    pdf = ReportPDF(f"{settings.RIS_SITE_NAME} · {order.accession_number} · v{version.number}")
    pdf.add_page()
    _header(pdf)
    _facts(pdf, version)
    for heading, text in _sections(version):
        pdf.font(11, bold=True)
        pdf.cell(0, 7, pdf.text_of(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.font(10.5)
        pdf.multi_cell(0, 5.2, pdf.text_of(text), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    _signature(pdf, version)
    return bytes(pdf.output())


def _header(pdf: ReportPDF) -> None:
    pdf.font(15, bold=True)
    pdf.cell(0, 8, pdf.text_of(settings.RIS_SITE_NAME), new_x="LMARGIN", new_y="NEXT")
    pdf.font(9)
    for line in settings.RIS_SITE_ADDRESS.split(";"):
        if line.strip():
            pdf.cell(0, 4.5, pdf.text_of(line.strip()), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(3)
    pdf.font(13, bold=True)
    pdf.cell(0, 7, pdf.text_of(_("Radiology report")), new_x="LMARGIN", new_y="NEXT")


def _facts(pdf: ReportPDF, version: ReportVersion) -> None:
    order = version.report.order
    patient = order.patient
    procedure = version.report.procedure
    rows = [
        (_("Patient"), PersonName.from_dicom(patient.dicom_name).display()),
        (_("Patient ID"), f"{patient.patient_id} ({patient.issuer})" if patient.issuer else patient.patient_id),
        (_("Born"), patient.birth_date.isoformat() if patient.birth_date else "—"),
        (_("Accession"), order.accession_number),
        (_("Procedure"), procedure.description or procedure.code_meaning),
        (_("Referring"), PersonName.from_dicom(order.referring_physician).display() or "—"),
        (_("Status"), f"{version.get_status_display()} (v{version.number})"),
    ]
    for label, value in rows:
        pdf.font(9.5, bold=True)
        pdf.cell(32, 5.2, pdf.text_of(label))
        pdf.font(9.5)
        pdf.multi_cell(0, 5.2, pdf.text_of(value or "—"), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _sections(version: ReportVersion) -> list[tuple[str, str]]:
    headings = {"FINDINGS": _("Findings"), "IMPRESSION": _("Impression"), "ADDENDUM": _("Addendum")}
    return [(headings[key], text) for key, text in version.sections()]


def _signature(pdf: ReportPDF, version: ReportVersion) -> None:
    pdf.ln(4)
    signed = timezone.localtime(version.signed_at).strftime("%Y-%m-%d %H:%M") if version.signed_at else ""
    pdf.font(10, bold=True)
    pdf.cell(0, 5.5, pdf.text_of(_("Signed by %(name)s") % {"name": version.signed_by}), new_x="LMARGIN", new_y="NEXT")
    pdf.font(9)
    pdf.cell(0, 5, pdf.text_of(_("Signed at %(time)s") % {"time": signed}), new_x="LMARGIN", new_y="NEXT")
