from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first administrator (admin/admin) when no user exists yet, and say how to log in."

    def handle(self, *args, **options):
        users = get_user_model().objects
        if users.exists():
            self.stdout.write("Log in with your existing account at http://127.0.0.1:8000/admin/")
            return
        users.create_superuser("admin", "", "admin")
        self.stdout.write(self.style.WARNING(
            "Created the first user: log in as admin / admin at http://127.0.0.1:8000/admin/ "
            "and change the password."
        ))
