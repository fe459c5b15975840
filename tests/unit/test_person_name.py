"""PersonName: the domain's DICOM PN value and how people see it."""

import pytest
from django.template import Context, Template
from django.urls import reverse

from ris.names import NameGroup, PersonName
from tests import factories as f


def test_dicom_value_reads_into_groups_and_components_and_back():
    name = PersonName.from_dicom("Yamada^Tarou^^Dr^Jr=山田^太郎=やまだ^たろう")
    assert name.alphabetic == NameGroup("Yamada", "Tarou", "", "Dr", "Jr")
    assert name.ideographic.family == "山田" and name.phonetic.given == "たろう"
    assert name.to_dicom() == "Yamada^Tarou^^Dr^Jr=山田^太郎=やまだ^たろう"


def test_trailing_empty_components_and_groups_are_dropped():
    assert PersonName.from_dicom("DOE^JANE^^^").to_dicom() == "DOE^JANE"
    assert PersonName.from_groups("DOE^JANE", "", "").to_dicom() == "DOE^JANE"
    assert PersonName.from_dicom("=山田^太郎").to_dicom() == "=山田^太郎"


def test_display_is_family_comma_given_names():
    assert PersonName.from_dicom("DOE^JANE").display() == "DOE, JANE"
    assert PersonName.from_dicom("Everyman^Adam^A^Dr.^III").display() == "Everyman, Dr. Adam A, III"
    assert PersonName.from_dicom("DOE").display() == "DOE"
    assert PersonName.from_dicom("").display() == ""


def test_display_adds_the_ideographic_group_or_shows_it_alone():
    assert PersonName.from_dicom("Yamada^Tarou=山田^太郎").display() == "Yamada, Tarou (山田 太郎)"
    assert PersonName.from_dicom("=山田^太郎").display() == "山田 太郎"


def test_pages_show_names_through_the_person_name_filter():
    template = Template("{% load names %}{{ value|person_name }}|{{ empty|person_name|default:'(no name)' }}")
    assert template.render(Context({"value": "MÜLLER^HANS", "empty": ""})) == "MÜLLER, HANS|(no name)"


@pytest.mark.django_db
def test_the_patient_page_shows_the_name_as_people_read_it(client):
    step = f.step(name="DOE^JANE")
    client.force_login(f.user_with_role("scheduler", "sam"))
    patient = client.get(reverse("patient", args=[step.requested_procedure.order.patient_id])).content.decode()
    assert "DOE, JANE" in patient and "DOE^JANE" not in patient
