from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project itself, installed for its management commands (`serve`, `ensure_admin`)."""

    name = "config"
    verbose_name = "RIS project"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the project's system checks)
