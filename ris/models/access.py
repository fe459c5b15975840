"""Who may do what: the capabilities that roles (Django groups) grant."""

from django.db import models


class Capability(models.Model):
    """Holds no rows: its Meta declares the RIS permissions every page and
    endpoint checks. Roles are groups holding some of them (see ris/roles.py)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_patients", "View patients, orders and exams"),
            ("enter_orders", "Enter orders by hand"),
            ("book_appointments", "Book, move and resize appointments"),
            ("manage_resources", "Manage rooms, opening hours, blocked time and the procedure catalogue"),
            ("view_status_board", "View the technologists' status board"),
            ("change_step_status", "Check in patients and change exam status"),
            ("view_messages", "View the HL7 message log"),
            ("view_audit", "View and export the audit log"),
            ("write_reports", "Write, sign, correct and add to reports"),
            ("configure_interfaces", "Reprocess and resend messages; edit destinations, senders and modalities"),
            ("manage_users", "Create and deactivate users, reset passwords, assign roles"),
            ("vet_orders", "Vet orders: accept with a protocol, reject, return for information"),
            ("record_screening", "Record safety screening (allergy, eGFR, pregnancy, weight, MR checklist)"),
            ("override_safety", "Book or start an exam against a safety rule, with a reason"),
            ("view_dose", "View dose reports and reference level alerts; export the dose table"),
            ("store_dose", "Send dose reports over STOW-RS (modalities, gateways)"),
            ("export_research", "Export de-identified orders, reports and dose records for research"),
            ("reconcile", "Reconcile exams, images and orders that do not match"),
        ]

    def __str__(self) -> str:
        return "RIS capabilities"


class LoginAttempt(models.Model):
    """One attempt to log in, kept to throttle password guessing."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["address", "at"], name="login_attempt_address_at")]

    def __str__(self) -> str:
        return f"{self.username} from {self.address} at {self.at:%Y-%m-%d %H:%M:%S}"


class SavedFilter(models.Model):
    """A user's named order-queue filter (the query string of the queue page)."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=500)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_filter_unique_name")]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token for the REST and FHIR APIs (`Authorization: Token <key>`).

    Only a digest of the key is kept: the key itself is shown once, when the
    token is issued. A token ends at `expires_at`, or earlier when revoked
    (by its owner, an administrator, or the RIS itself when the owner's
    password or roles change)."""

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)  # SHA-256 of the key, hex
    prefix = models.CharField(max_length=8)  # the key's first characters, to tell tokens apart
    name = models.CharField(max_length=80, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… of {self.user}"


class StaffProfile(models.Model):
    """What a report shows of its signer beyond the login: title and
    credentials (e.g. "Dr.", "MD, FRCR"), next to the user's full name."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="staff_profile")
    title = models.CharField(max_length=32, blank=True, default="")  # shown before the name
    credentials = models.CharField(max_length=64, blank=True, default="")  # shown after it

    def __str__(self) -> str:
        return f"{self.title} {self.user.get_full_name()} {self.credentials}".strip()
