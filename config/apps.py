from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project itself, installed for its management commands (`serve`, `ensure_admin`)."""

    name = "config"
    verbose_name = "RIS project"
