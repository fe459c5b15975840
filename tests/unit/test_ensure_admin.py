import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command


@pytest.mark.django_db
def test_first_start_creates_the_roles_and_an_administrator(capsys):
    Group.objects.all().delete()
    call_command("ensure_admin")
    admin = User.objects.get(username="admin")
    assert admin.groups.filter(name="administrator").exists()
    assert Group.objects.count() == 5
    assert "/login/" in capsys.readouterr().out
