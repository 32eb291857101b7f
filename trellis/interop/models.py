"""What interop keeps: the systems allowed in, their tokens, bulk exports, the patients'
identifiers in the clinic's records, referrals, amendment requests, retention rules and
erasures. Free text a person wrote is encrypted at rest like everywhere else."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trellis.care.models import SupportLevel
from trellis.core.fields import EncryptedTextField
from trellis.core.models import TimestampedModel


class BackendClient(TimestampedModel):
    """A system allowed to call Trellis on its own behalf (SMART Backend Services): the
    clinic's EHR, a data warehouse. It proves who it is with a JWT signed by a key whose
    public half is in `jwks`; it never holds a password or a shared secret."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="backend_clients"
    )
    name = models.CharField(max_length=120, help_text=_("Shown in the audit trail."))
    client_id = models.CharField(max_length=64, unique=True)
    jwks = models.JSONField(
        default=dict, blank=True, help_text=_("The client's public keys, as a JWK Set.")
    )
    scopes = models.CharField(
        max_length=500,
        help_text=_("The scopes it may ask for, space separated (system/*.read ...)."),
    )
    may_refer = models.BooleanField(
        default=False,
        help_text=_("It may send referrals (a Bundle of Patient and ServiceRequest)."),
    )
    may_read_message_text = models.BooleanField(
        default=False, help_text=_("Communication resources carry the message text.")
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccessToken(TimestampedModel):
    """A short-lived bearer token issued to a backend client. Only its hash is kept."""

    client = models.ForeignKey(BackendClient, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.CharField(max_length=500)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"token of {self.client} until {self.expires_at:%Y-%m-%d %H:%M}"


class UsedAssertion(models.Model):
    """The `jti` of every client assertion accepted, kept until it expires, so an assertion
    cannot be replayed."""

    id = models.BigAutoField(primary_key=True)
    client = models.ForeignKey(BackendClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="interop_assertion_once")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.jti}"


class ExportLevel(models.TextChoices):
    SYSTEM = "system", _("Every patient of the clinic")
    GROUP = "group", _("A group")
    PATIENT = "patient", _("Patients")


class ExportStatus(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class ExportJob(TimestampedModel):
    """One Bulk Data `$export`: asked for, written by the worker into NDJSON files, polled,
    downloaded, and removed once `expires_at` has passed."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    client = models.ForeignKey(
        BackendClient, on_delete=models.CASCADE, null=True, blank=True, related_name="exports"
    )
    level = models.CharField(max_length=16, choices=ExportLevel.choices)
    group_id = models.CharField(max_length=64, blank=True)
    types = models.JSONField(default=list, blank=True)
    since = models.DateTimeField(null=True, blank=True)
    request_url = models.CharField(max_length=2000)
    status = models.CharField(
        max_length=16, choices=ExportStatus.choices, default=ExportStatus.ACCEPTED
    )
    progress = models.CharField(max_length=200, blank=True)
    transaction_time = models.DateTimeField(null=True, blank=True)
    output = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.level} export {self.pk} ({self.status})"


class PatientIdentifier(TimestampedModel):
    """A patient's identifier in another system of the clinic (the EHR's medical record
    number): how referrals are matched and how the EHR finds its patient in Trellis."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    system = models.CharField(max_length=300)
    value = models.CharField(max_length=120)
    patient = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="external_identifiers",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "system", "value"], name="interop_identifier_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.system}|{self.value}"


class ReferralSource(models.TextChoices):
    FHIR = "fhir", _("Sent by a connected system")
    CSV = "csv", _("Uploaded as a file")


class ReferralOutcome(models.TextChoices):
    INVITED = "invited", _("Invited")
    ALREADY_INVITED = "already_invited", _("Already invited")
    ALREADY_ENROLLED = "already_enrolled", _("Already enrolled")
    REFUSED = "refused", _("Refused")


class Referral(TimestampedModel):
    """One referral received: who sent it, whose identifier it carried, and what became of
    it (an invitation, or why none was made)."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    source = models.CharField(max_length=8, choices=ReferralSource.choices)
    client = models.ForeignKey(
        BackendClient, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    identifier = models.ForeignKey(
        PatientIdentifier, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=20, choices=ReferralOutcome.choices)
    invitation = models.ForeignKey(
        "accounts.Invitation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = EncryptedTextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"referral {self.pk} ({self.outcome})"


class AmendmentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a clinician")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")


class AmendmentRequest(TimestampedModel):
    """A patient asks for something in their record to be corrected (HIPAA's right to
    amend). A clinician accepts or refuses with a reason; the record shows both."""

    patient = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="amendment_requests"
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    about = models.CharField(max_length=200)
    requested_change = EncryptedTextField()
    status = models.CharField(
        max_length=10, choices=AmendmentStatus.choices, default=AmendmentStatus.PENDING
    )
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = EncryptedTextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "status"], name="interop_amend_org_status")]

    def __str__(self) -> str:
        return f"amendment {self.pk} ({self.status})"


class DataRightsSettings(TimestampedModel):
    """A clinic's rules for keeping and sharing records: how long after discharge they are
    kept, whether erasure on request is allowed where it operates, and the smallest group
    a de-identified export may describe."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="data_rights"
    )
    retention_days = models.PositiveIntegerField(
        default=365 * 7,
        help_text=_("Days after discharge a patient's record is kept before it is erased."),
    )
    erasure_on_request = models.BooleanField(
        default=True,
        help_text=_("Patients may ask for their record to be erased where the law allows."),
    )
    research_k = models.PositiveSmallIntegerField(
        default=5,
        help_text=_(
            "A research export is refused if a group of patients who share the same "
            "quasi-identifiers is smaller than this."
        ),
    )

    def __str__(self) -> str:
        return f"data rights of {self.organization}"


class ErasureStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    REFUSED = "refused", _("Refused")
    DONE = "done", _("Erased")


class Erasure(TimestampedModel):
    """A person's record erased (on request, or when the retention time ran out), or a
    request refused. Only the person's id is kept: the tombstone that says the record
    existed and when it was removed, matching the audit trail's."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    person_id = models.UUIDField(db_index=True)
    on_request = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=ErasureStatus.choices)
    requested_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = EncryptedTextField(blank=True, default="")
    erased_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person_id"], condition=Q(status="done"), name="interop_erased_once"
            )
        ]

    def __str__(self) -> str:
        return f"erasure of {self.person_id} ({self.status})"


# --- Referrals in: who a referral's invitation comes from (docs/referrals.md) ---


class ReferralSettings(TimestampedModel):
    """How a clinic takes referrals from its systems and from uploaded files: the clinician
    in whose name the invitations go out (the e-mail names them; they become the primary
    supporter unless the patient is self-guided), and the program and level of support
    used when a referral names none."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="referral_settings"
    )
    inviter = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("A coach, therapist or supervisor who invites referred patients."),
    )
    default_program = models.ForeignKey(
        "programs.Program",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Used when a referral names no program."),
    )
    default_support_level = models.CharField(
        max_length=24, choices=SupportLevel.choices, default=SupportLevel.SELF_GUIDED
    )

    def __str__(self) -> str:
        return f"referral settings of {self.organization}"
