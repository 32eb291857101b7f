"""People, clinics and what each person is to each clinic."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from trellis.core.fields import EncryptedTextField
from trellis.core.models import TimestampedModel


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    COACH = "coach", _("Coach")
    THERAPIST = "therapist", _("Therapist")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Clinic admin")
    RESEARCHER = "researcher", _("Researcher")


STAFF_ROLES = frozenset({Role.COACH, Role.THERAPIST, Role.SUPERVISOR, Role.ADMIN, Role.RESEARCHER})
CLINICAL_ROLES = frozenset({Role.COACH, Role.THERAPIST, Role.SUPERVISOR})
MANAGER_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


class Organization(TimestampedModel):
    """A clinic: the boundary no member of staff can see across."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    locale = models.CharField(max_length=16, default="en-US")
    crisis_resources = models.TextField(
        default=(
            "If you are thinking about harming yourself, you are not alone and help is available "
            "right now. Call or text 988 (the Suicide & Crisis Lifeline) at any time. "
            "If you are in immediate danger, call 911."
        ),
        help_text=_("Shown to patients at once when an answer suggests risk of self-harm."),
    )
    safety_escalation_minutes = models.PositiveIntegerField(
        default=60,
        help_text=_("An unacknowledged safety alert goes to a supervisor after this long."),
    )
    triage_settings = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Thresholds for suggesting a support level; blank uses the defaults."),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(TimestampedModel):
    """A group of staff inside a clinic who share patients (and, later, on-call duty)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=200)
    on_call_clinician = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Takes safety alerts for this team's self-guided and coached patients."),
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="accounts_team_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email__iexact=(username or "").strip())

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("full_name", "Platform operator")
        user = self.create_user(email, password, is_superuser=True, **extra)
        return user


class User(AbstractBaseUser, TimestampedModel):
    """Anyone who signs in: patients and staff alike, identified by email."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    preferred_name = models.CharField(max_length=100, blank=True)
    phone = EncryptedTextField(blank=True, default="")
    is_active = models.BooleanField(default=True)
    is_superuser = models.BooleanField(
        default=False, help_text=_("Platform operator; not a clinic role and sees no patient data.")
    )
    mfa_opt_in = models.BooleanField(default=False, help_text=_("A patient who chose to use MFA."))
    language = models.CharField(
        max_length=16,
        blank=True,
        help_text=_("The language Trellis speaks to this person. Blank: the browser's."),
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("The zone staff pages show times in. Blank: the clinic's."),
    )

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        ordering = ["full_name"]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.full_name or self.email


class Membership(TimestampedModel):
    """A person's role at one clinic, optionally in one of its teams."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="memberships"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organization__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="accounts_membership_one_per_org"
            )
        ]
        indexes = [models.Index(fields=["organization", "role"], name="accounts_mem_org_role")]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()} at {self.organization}"

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES


class Invitation(TimestampedModel):
    """A single-use, expiring link that lets a person set a password and join a clinic."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices)
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email} ({self.role})"


class PasswordResetRequest(TimestampedModel):
    """A request for a password-reset e-mail that was let through, kept to limit how many
    mails one address receives and how many requests one client makes in an hour.

    The e-mail is kept only as a keyed digest: these rows also record addresses that have
    no account, and must not become a list of them.
    """

    email_digest = models.CharField(max_length=64)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    requested_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["email_digest", "requested_at"], name="accounts_reset_by_email"),
            models.Index(fields=["ip_address", "requested_at"], name="accounts_reset_by_address"),
            models.Index(fields=["requested_at"], name="accounts_reset_requested_at"),
        ]


class RecoveryCode(TimestampedModel):
    """A one-time MFA recovery code, stored only as a hash."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "code_hash"], name="accounts_recovery_lookup")]


class TokenScope(models.TextChoices):
    READ = "read", _("Read only")
    READ_WRITE = "read_write", _("Read and write")


class ApiToken(TimestampedModel):
    """A bearer token for an integration, scoped to one clinic; the secret is shown once."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=12, choices=TokenScope.choices, default=TokenScope.READ)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE
