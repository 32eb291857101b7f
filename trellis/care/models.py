"""Enrollment: a patient in one program version, with a level of support and supporters."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trellis.core.fields import EncryptedTextField
from trellis.core.models import TimestampedModel


class SupportLevel(models.TextChoices):
    SELF_GUIDED = "self_guided", _("Self-guided")
    COACHED = "coached", _("Coached")
    THERAPIST_ASSISTED = "therapist_assisted", _("Therapist-assisted")


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DISCHARGED = "discharged", _("Discharged")


class Enrollment(TimestampedModel):
    """A patient working through one program version: the unit every later feature hangs on."""

    patient = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="enrollments"
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="enrollments"
    )
    program_version = models.ForeignKey(
        "programs.ProgramVersion", on_delete=models.PROTECT, related_name="enrollments"
    )
    support_level = models.CharField(max_length=24, choices=SupportLevel.choices)
    status = models.CharField(
        max_length=16, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # Free text about the patient is encrypted at rest (docs/security.md).
    end_reason = EncryptedTextField(max_length=200, blank=True)
    # Triage: the level suggested from baseline severity, until a clinician confirms one.
    suggested_support_level = models.CharField(
        max_length=24, choices=SupportLevel.choices, blank=True
    )
    suggestion_reason = EncryptedTextField(max_length=300, blank=True)
    support_level_confirmed_at = models.DateTimeField(null=True, blank=True)
    support_level_confirmed_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "program_version"],
                condition=Q(status="active"),
                name="care_one_active_enrollment_per_version",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="care_enr_org_status"),
            models.Index(fields=["patient", "status"], name="care_enr_patient_status"),
        ]

    def __str__(self) -> str:
        return f"{self.patient} in {self.program_version}"

    @property
    def is_active(self) -> bool:
        return self.status == EnrollmentStatus.ACTIVE


class SupporterRole(models.TextChoices):
    PRIMARY = "primary", _("Primary supporter")
    SECONDARY = "secondary", _("Also supporting")


class CareTeamMember(TimestampedModel):
    """A coach or therapist assigned to support one enrollment: their caseload is made of these."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="care_team")
    supporter = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="supporting"
    )
    role = models.CharField(
        max_length=16, choices=SupporterRole.choices, default=SupporterRole.PRIMARY
    )
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "supporter"], name="care_team_member_once"
            )
        ]
        indexes = [models.Index(fields=["supporter", "active"], name="care_team_by_supporter")]

    def __str__(self) -> str:
        return f"{self.supporter} supports {self.enrollment}"


class ContactStyle(models.TextChoices):
    MESSAGES = "messages", _("Messages when I like")
    LIVE = "live", _("Live sessions")


class ReminderChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message (SMS)")
    PUSH = "push", _("Notifications on this device")
    IN_APP = "in_app", _("In Trellis only")


class Preferences(TimestampedModel):
    """How a patient likes Trellis to work for them and to reach them."""

    user = models.OneToOneField(
        "accounts.User", on_delete=models.CASCADE, related_name="preferences"
    )
    simple_mode = models.BooleanField(
        default=False, help_text=_("Larger text, one action per screen, a hint on each step.")
    )
    time_zone = models.CharField(max_length=64, blank=True, help_text=_("Blank: the clinic's."))
    contact_style = models.CharField(max_length=12, choices=ContactStyle.choices, blank=True)
    reminder_channels = models.JSONField(
        default=list, blank=True, help_text=_("Any of email, sms, push, in_app.")
    )
    quiet_hours_start = models.TimeField(
        null=True, blank=True, help_text=_("No reminders from this time (the patient's zone).")
    )
    quiet_hours_end = models.TimeField(null=True, blank=True)
    reminder_time = models.TimeField(
        null=True, blank=True, help_text=_("When today's exercise reminder comes (their zone).")
    )
    weekly_summary = models.BooleanField(
        default=False, help_text=_("A short 'your week' summary once a week.")
    )

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", _("Taking part in the program")
    DATA_USE = "data_use", _("How your information is used")
    AUTOMATION = "automation", _("Automated features")
    RESEARCH = "research", _("Research (optional)")


class ConsentDocument(TimestampedModel):
    """One version of a consent text. Published versions never change; a new text is a new
    version, and people are asked again."""

    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="consent_documents",
        help_text=_("Blank: Trellis's default text, used by clinics without their own."),
    )
    kind = models.CharField(max_length=16, choices=ConsentKind.choices)
    version = models.PositiveIntegerField()
    locale = models.CharField(max_length=16, default="en")
    title = models.CharField(max_length=200)
    body = models.TextField()
    required = models.BooleanField(default=True)
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "locale", "version"],
                name="care_consent_doc_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class Consent(TimestampedModel):
    """A person's answer to one consent document; withdrawing keeps the record and its time."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="consents")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="+")
    agreed = models.BooleanField()
    answered_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-answered_at"]
        indexes = [models.Index(fields=["user", "document"], name="care_consent_by_user")]

    def __str__(self) -> str:
        return f"{self.user} {'agreed to' if self.agreed else 'declined'} {self.document}"


class OnboardingStage(models.TextChoices):
    CONSENT = "consent", _("Consent")
    EHEALS = "eheals", _("Using health information online")
    BASELINE = "baseline", _("How you have been feeling")
    PREFERENCES = "preferences", _("Your preferences")
    DONE = "done", _("Done")


class Onboarding(TimestampedModel):
    """Where a new patient is in getting started; Today opens once it is done."""

    enrollment = models.OneToOneField(
        Enrollment, on_delete=models.CASCADE, related_name="onboarding"
    )
    stage = models.CharField(
        max_length=12, choices=OnboardingStage.choices, default=OnboardingStage.CONSENT
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Onboarding of {self.enrollment} at {self.stage}"


class PatientInvitation(TimestampedModel):
    """What a clinician arranged when inviting a patient: the program, a provisional level of
    support and the supporters. The enrollment is made from it when the patient accepts."""

    invitation = models.OneToOneField(
        "accounts.Invitation", on_delete=models.CASCADE, related_name="patient_plan"
    )
    program_version = models.ForeignKey(
        "programs.ProgramVersion", on_delete=models.PROTECT, related_name="+"
    )
    support_level = models.CharField(max_length=24, choices=SupportLevel.choices)
    supporters = models.JSONField(
        default=list, blank=True, help_text=_("User ids, primary supporter first.")
    )
    enrollment = models.OneToOneField(
        Enrollment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitation_plan",
    )

    def __str__(self) -> str:
        return f"Plan for {self.invitation}"


class CareNote(TimestampedModel):
    """A note the care team keeps about an enrollment. Encrypted; the patient never sees it."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    body = EncryptedTextField()
    written_at = models.DateTimeField()

    class Meta:
        ordering = ["-written_at"]
        indexes = [models.Index(fields=["enrollment", "written_at"], name="care_note_by_enr")]

    def __str__(self) -> str:
        return f"Care note {self.pk}"


class StepChangeStatus(models.TextChoices):
    SUGGESTED = "suggested", _("Suggested")
    CONFIRMED = "confirmed", _("Confirmed")
    DECLINED = "declined", _("Declined")


class SteppedCareChange(TimestampedModel):
    """A suggestion to step a patient's support up or down, and the clinician's decision.

    A supporter or a rule (suggested_by blank) suggests; a therapist or supervisor confirms
    or declines. On confirmation the enrollment's level changes and the patient is told in
    plain words (`patient_notice`, shown on Today).
    """

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="step_changes"
    )
    from_level = models.CharField(max_length=24, choices=SupportLevel.choices)
    to_level = models.CharField(max_length=24, choices=SupportLevel.choices)
    reason = EncryptedTextField(max_length=500)
    status = models.CharField(
        max_length=12, choices=StepChangeStatus.choices, default=StepChangeStatus.SUGGESTED
    )
    suggested_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Blank: suggested by an alert rule."),
    )
    suggested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = EncryptedTextField(max_length=500, blank=True)
    patient_notice = EncryptedTextField(
        max_length=500, blank=True, help_text=_("What the patient is told, in plain words.")
    )

    class Meta:
        ordering = ["-suggested_at"]
        constraints = [
            # One open suggestion per enrollment: a second one would race the first.
            models.UniqueConstraint(
                fields=["enrollment"],
                condition=Q(status="suggested"),
                name="care_one_open_step_change",
            )
        ]
        indexes = [
            models.Index(fields=["enrollment", "status"], name="care_stepchange_by_enr"),
        ]

    def __str__(self) -> str:
        return f"{self.from_level} -> {self.to_level} ({self.status})"
