"""How pages show a person's name: `{{ patient.dicom_name|person_name }}`.

Stored names are DICOM PN values (`DOE^JANE=...`); people read
`PersonName.display()` ("DOE, JANE"), the one rule for every page.
"""

from __future__ import annotations

from django import template

from ris.names import PersonName

register = template.Library()


@register.filter
def person_name(value: str | PersonName | None) -> str:
    """A PN value or a PersonName as people read it; '' for none."""
    if not value:
        return ""
    name = value if isinstance(value, PersonName) else PersonName.from_dicom(str(value))
    return name.display()
