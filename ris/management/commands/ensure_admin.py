from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from ris.roles import ADMINISTRATOR, ensure_roles


class Command(BaseCommand):
    help = "Create the roles and the first administrator (admin/admin) when no user exists yet."

    def handle(self, *args, **options):
        ensure_roles()
        users = get_user_model().objects
        if users.exists():
            self.stdout.write("Log in with your existing account at http://127.0.0.1:8000/login/")
            return
        admin = users.create_superuser("admin", "", "admin")
        admin.groups.add(*Group.objects.filter(name=ADMINISTRATOR))
        self.stdout.write(self.style.WARNING(
            "Created the first user: log in as admin / admin at http://127.0.0.1:8000/login/ "
            "and change the password (/admin/password_change/)."
        ))
