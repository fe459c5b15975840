import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from ris.roles import ROLE_CAPABILITIES


@pytest.mark.django_db
def test_first_start_creates_the_roles_and_an_administrator(capsys):
    Group.objects.all().delete()
    call_command("ensure_admin")
    admin = User.objects.get(username="admin")
    assert admin.groups.filter(name="administrator").exists()
    assert Group.objects.count() == len(ROLE_CAPABILITIES)
    assert "/login/" in capsys.readouterr().out
