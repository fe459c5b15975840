from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from ris.roles import ADMINISTRATOR, ensure_roles


class Command(BaseCommand):
    help = "Create the roles and the first administrator (admin/admin) when no user exists yet."

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_roles()
        users = get_user_model().objects
        if users.exists():
            self.stdout.write(f"Log in with your existing account at {_login_url()}")
            return
        admin = users.create_superuser("admin", "", "admin")
        admin.groups.add(*Group.objects.filter(name=ADMINISTRATOR))
        self.stdout.write(
            self.style.WARNING(
                f"Created the first user: log in as admin / admin at {_login_url()} "
                "and change the password (/admin/password_change/)."
            )
        )


def _login_url() -> str:
    from django.conf import settings

    return f"http://{settings.RIS_BIND_HOST}:{settings.RIS_HTTP_PORT}/login/"
