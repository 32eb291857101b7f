"""Consent: the clinic's versioned consent documents, each patient's answers, and
withdrawing them with consequences stated in plain words.

Trellis's default documents are the Markdown files in `consent_texts/`; a database that lost
them gets them back at run time. A published text never changes: a changed text is a new
file with a higher version (loaded by a data migration), patients are shown the newest
version, and earlier answers stay recorded against the version that was agreed to.
Getting started asks for the required consents (trellis.onboarding); a patient can read and
withdraw them later on their account pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.language import language_for
from trellis.accounts.models import Organization, User
from trellis.accounts.queries import get_or_404
from trellis.care.models import Consent, ConsentDocument, ConsentKind, Enrollment, EnrollmentStatus
from trellis.care.queries import current_enrollment, supporters_of
from trellis.care.services import end_enrollment
from trellis.core import timeutil

REQUIRED_KINDS = (ConsentKind.TREATMENT, ConsentKind.DATA_USE, ConsentKind.AUTOMATION)


# Withdrawing one of these ends the enrollment: the program cannot run without it.
ENDS_ENROLLMENT = (ConsentKind.TREATMENT, ConsentKind.DATA_USE)


CONSENT_TEXTS = Path(__file__).resolve().parent / "consent_texts"


def ensure_default_documents(*, now: datetime | None = None) -> int:
    """Make sure Trellis's default consent texts exist (the data migration loads them; this
    puts them back if a database was emptied, e.g. by a test flush). Returns how many it added.

    A published text never changes: an existing kind/locale/version is left as it is.
    """
    added = 0
    for path in sorted(CONSENT_TEXTS.glob("*.md")):
        _, head, body = path.read_text(encoding="utf-8").split("---\n", 2)
        meta = {
            key.strip(): value.strip()
            for key, _sep, value in (line.partition(":") for line in head.splitlines())
            if _sep
        }
        _doc, created = ConsentDocument.objects.get_or_create(
            organization=None,
            kind=meta["kind"],
            locale=meta.get("locale", "en"),
            version=int(meta["version"]),
            defaults={
                "title": meta["title"],
                "body": body.strip() + "\n",
                "required": meta.get("required", "true").lower() == "true",
                "published_at": now or timeutil.now(),
            },
        )
        added += int(created)
    return added


def current_documents(organization: Organization | None, locale: str = "en") -> list[Any]:
    """The consent documents a patient of this clinic is asked to agree to now: the newest
    version of each kind, the clinic's own text where it has one, else Trellis's default."""
    if not ConsentDocument.objects.filter(organization__isnull=True).exists():
        ensure_default_documents()
    language = (locale or "en").split("-")[0].lower()
    rows = ConsentDocument.objects.filter(
        Q(organization=organization) | Q(organization__isnull=True),
        locale__in={locale, language, "en"},
    ).order_by("kind", "-version")
    chosen: dict[str, ConsentDocument] = {}
    for doc in rows:

        def rank(d: ConsentDocument) -> tuple[int, int, int]:
            return (
                1 if d.organization_id is not None else 0,
                2 if d.locale == locale else 1 if d.locale == language else 0,
                d.version,
            )

        if doc.kind not in chosen or rank(doc) > rank(chosen[doc.kind]):
            chosen[doc.kind] = doc
    order = list(ConsentKind.values)
    return sorted(chosen.values(), key=lambda d: order.index(d.kind))


def latest_consents(user: Any) -> list[Consent]:
    """The person's most recent answer for each kind of consent, newest document first."""
    return latest_consents_of([user.pk]).get(user.pk, [])


def latest_consents_of(user_ids: Iterable[Any]) -> dict[Any, list[Consent]]:
    """`latest_consents` for many people in one query, by user id (people who never
    answered are left out)."""
    latest: dict[Any, dict[str, Consent]] = {}
    for consent in (
        Consent.objects.filter(user_id__in=list(user_ids))
        .select_related("document")
        .order_by("-answered_at", "-created_at")
    ):
        latest.setdefault(consent.user_id, {}).setdefault(consent.document.kind, consent)
    order = list(ConsentKind.values)
    return {
        user_id: sorted(kinds.values(), key=lambda c: order.index(c.document.kind))
        for user_id, kinds in latest.items()
    }


# The first version of the automated-features text that describes the dropout-risk
# estimate: the estimate is made only for people whose yes in force is to this version or a
# later one (consent_texts/automation.v3.en.md).
MODEL_DESCRIBED_FROM = 3


def agreed_to_the_model(user_ids: Iterable[Any]) -> set[Any]:
    """Who among these people has a yes in force to an automated-features text that
    describes the dropout-risk estimate (version MODEL_DESCRIBED_FROM or later)."""
    agreed = set()
    for user_id, answers in latest_consents_of(user_ids).items():
        for consent in answers:
            if (
                consent.document.kind == ConsentKind.AUTOMATION
                and consent.agreed
                and consent.withdrawn_at is None
                and consent.document.version >= MODEL_DESCRIBED_FROM
            ):
                agreed.add(user_id)
    return agreed


def has_consent(user: Any, kind: str) -> bool:
    """Whether the person's latest answer on this kind of consent is a yes still in force."""
    for consent in latest_consents(user):
        if consent.document.kind == kind:
            return consent.agreed and consent.withdrawn_at is None
    return False


def access_consent(user: Any, pk: Any) -> Consent:
    """One of the person's own consent answers, or 404."""

    consent: Consent = get_or_404(Consent.objects.filter(user=user).select_related("document"), pk)
    return consent


@transaction.atomic
def give_consent(document: ConsentDocument, *, actor: User, now: datetime) -> Consent:
    """Say yes later to a consent the patient declined or withdrew (research, for example)."""
    consent = Consent.objects.create(user=actor, document=document, agreed=True, answered_at=now)
    enrollment = current_enrollment(actor)
    audit.record(
        action="consent.agree",
        actor=actor,
        subject=consent,
        patient=actor,
        organization=enrollment.organization_id if enrollment else document.organization_id,
        details={"kind": document.kind, "version": document.version},
        at=now,
    )
    return consent


def withdrawal_consequence(kind: str) -> str:
    """What withdrawing this kind of consent means, in plain words."""
    if kind in ENDS_ENROLLMENT:
        return _(
            "Your program will stop straight away and your care team will be told, so they "
            "can talk with you about other options. What you have done so far is kept in "
            "your health record, as the law requires."
        )
    if kind == ConsentKind.AUTOMATION:
        # The estimate stops; the checks the text describes keep running (the safety check
        # above all), so the patient is told exactly that.
        return _(
            "No estimate of how likely you are to stop using the program will be made for "
            "you any more. The checks described in the text keep running as part of your "
            "care, so that your care team still hears if you need help. Your program and "
            "your care team's support carry on as before."
        )
    return _(
        "Your information will not be used in new research from now on. Your program and "
        "your care carry on exactly as before."
    )


def _tell_care_team(enrollment: Enrollment, patient: User) -> None:
    emails = [m.supporter.email for m in supporters_of(enrollment) if m.supporter.email]
    if not emails:
        return
    # Written in the clinic's language, not the patient's (the page that withdrew is theirs).
    with translation.override(language_for(None, enrollment.organization.locale)):
        subject = _("A patient has stopped their program")
        body = _(
            "Hello,\n\n%(name)s has withdrawn their consent to take part in %(program)s at "
            "%(clinic)s, so their program has stopped. Please get in touch with them about "
            "other options for their care.\n\nThis message is from Trellis.\n"
        ) % {
            "name": patient.display_name,
            "program": enrollment.program_version.title,
            "clinic": enrollment.organization.name,
        }
    EmailMessage(subject=subject, body=body, to=emails).send()


@transaction.atomic
def withdraw_consent(consent: Consent, *, actor: User, now: datetime) -> Consent:
    """The patient takes back a consent they gave. The record stays, marked withdrawn.

    Withdrawing treatment or data use ends the current enrollment as withdrawn and tells
    the care team; withdrawing research or automated features only stops that use.
    """
    consent = Consent.objects.select_for_update().select_related("document").get(pk=consent.pk)
    if consent.user_id != actor.pk:
        raise PermissionDenied(_("Only the person who gave a consent can withdraw it."))
    if not consent.agreed or consent.withdrawn_at is not None:
        raise ValidationError(_("There is nothing to withdraw here."))
    consent.withdrawn_at = now
    consent.save(update_fields=["withdrawn_at", "updated_at"])
    kind = consent.document.kind
    enrollment = current_enrollment(actor)
    audit.record(
        action="consent.withdraw",
        actor=actor,
        subject=consent,
        patient=actor,
        organization=enrollment.organization_id if enrollment else None,
        details={"kind": kind, "version": consent.document.version},
        at=now,
    )
    if kind in ENDS_ENROLLMENT and enrollment is not None:
        # The patient is not clinical staff; the enrollment ends on their word, recorded
        # by the system with the reason, and the audit row above names them.
        end_enrollment(
            enrollment,
            status=EnrollmentStatus.WITHDRAWN,
            reason=f"The patient withdrew consent ({kind}).",
            actor=None,
            now=now,
        )
        transaction.on_commit(lambda: _tell_care_team(enrollment, actor))
    return consent
