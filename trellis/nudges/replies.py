"""Texts people send to the clinic's number, and Trellis's answer to each.

The provider posts every inbound text to Trellis (`sms_views.inbound`); `receive_text`
records it once (by the provider's message id: a repeated post changes nothing), finds the
sender by the keyed hash of their number (`phones`) and acts on the first word:

    C                 confirms their next booked session (the supporter sees it)
    R                 asks for another time: the answer is a link to choose one, and the
                      supporter sees the request
    X                 cancels their next session through the sessions service (audited;
                      within the clinic's notice, else the answer says to message instead)
    STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT
                      stops every nudge on every channel (carrier rules)
    START, UNSTOP, YES
                      lifts that stop
    HELP, INFO        a short help text
    anything else     a short help text, once: not again within a day

The answer goes back as the text of the provider's reply (TwiML `<Message>`). Answers are
short and never name the kind of care.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from trellis.accounts.language import language_for
from trellis.accounts.models import User
from trellis.appointments import services as sessions
from trellis.appointments.models import Appointment
from trellis.nudges import phones, services, tokens
from trellis.nudges.appointment_reminders import (
    tell_supporter_another_time,
    upcoming_for,
    when_words,
)
from trellis.nudges.models import BlockReason, InboundText

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
CONFIRM, ANOTHER_TIME, CANCEL_SESSION = "C", "R", "X"
SESSION_WORDS = frozenset({CONFIRM, ANOTHER_TIME, CANCEL_SESSION})
QUIET_FOR = timedelta(days=1)
_WORD = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class Answer:
    """What Trellis did with a text (`outcome`) and what it answers ("": nothing)."""

    outcome: str
    text: str = ""
    appointment_id: uuid.UUID | None = None


def word_of(body: str) -> str:
    """The reply word: the first word, in capitals, without punctuation ("c." is C)."""
    for part in (body or "").strip().split():
        cleaned = _WORD.sub("", part).upper()
        if cleaned:
            return cleaned[:16]
    return ""


def sender_hash(number: str) -> str:
    """The keyed hash an inbound text is filed under (also for a number that is not E.164,
    such as a short code, so repeats from it are still recognised)."""
    return phones.number_hash(phones.normalize(number) or number.strip()[:32])


def help_text() -> str:
    return _(
        "Trellis: reply C to confirm your next session, R to ask for another time, X to "
        "cancel. STOP to stop all messages, START to get them again."
    )


def _unknown_word_text() -> str:
    return _("Sorry, we did not understand. %(help)s") % {"help": help_text()}


@transaction.atomic
def receive_text(*, provider_id: str, from_number: str, body: str, at: datetime) -> Answer | None:
    """Record an inbound text and act on it; None for a text already received (the
    provider posting it again), which changes nothing and is answered with nothing."""
    from_hash = sender_hash(from_number)
    try:
        with transaction.atomic():
            text, created = InboundText.objects.get_or_create(
                provider_id=provider_id,
                defaults={"from_hash": from_hash, "body": body[:1600], "received_at": at},
            )
    except IntegrityError:
        return None
    if not created:
        return None
    word = word_of(body)
    people = phones.users_for_number(from_number)
    if not people:
        answer = _once(
            Answer("unknown_sender", _("Sorry, this number is not known to Trellis.")),
            from_hash=from_hash,
            at=at,
            exclude=text.pk,
        )
        _save(text, word=word, user=None, answer=answer)
        return answer
    upcoming = upcoming_for([p.pk for p in people], at)
    # A phone shared by two people: the one with the next session answers for it.
    person = (
        next((p for p in people if upcoming and p.pk == upcoming.enrollment.patient_id), None)
        or people[0]
    )
    with translation.override(language_for(person)):
        answer = _act(person, word, upcoming, at=at, from_hash=from_hash, exclude=text.pk)
    _save(text, word=word, user=person, answer=answer)
    return answer


def _save(text: InboundText, *, word: str, user: User | None, answer: Answer) -> None:
    text.word = word if len(word) <= 16 else ""
    text.user = user
    text.outcome = answer.outcome
    text.appointment_id = answer.appointment_id
    text.save(update_fields=["word", "user", "outcome", "appointment_id", "updated_at"])


def _once(answer: Answer, *, from_hash: str, at: datetime, exclude: uuid.UUID) -> Answer:
    """The same short answer to the same number at most once a day; after that, silence."""
    recent = (
        InboundText.objects.filter(
            from_hash=from_hash, outcome=answer.outcome, received_at__gte=at - QUIET_FOR
        )
        .exclude(pk=exclude)
        .exists()
    )
    return Answer(f"{answer.outcome}_quiet") if recent else answer


def _act(
    person: User,
    word: str,
    upcoming: Appointment | None,
    *,
    at: datetime,
    from_hash: str,
    exclude: uuid.UUID,
) -> Answer:
    if word in STOP_WORDS:
        services.block(
            person, channel="", reason=BlockReason.STOP, detail=f"Replied {word}", by=person
        )
        return Answer(
            "stopped",
            _("Trellis: you will get no more messages from us. Reply START to get them again."),
        )
    if word in START_WORDS:
        services.lift(person, channel="")
        return Answer(
            "started",
            _("Trellis: you will get messages from us again. Reply STOP to stop them."),
        )
    if word in HELP_WORDS:
        return Answer("help", help_text())
    if word not in SESSION_WORDS:
        return _once(
            Answer("unknown_word", _unknown_word_text()),
            from_hash=from_hash,
            at=at,
            exclude=exclude,
        )
    if upcoming is None or upcoming.enrollment.patient_id != person.pk:
        return Answer(
            "no_session",
            _("Trellis: you have no session coming up. To book one, open Trellis."),
        )
    return _answer_session(person, word, upcoming, at=at)


def _answer_session(person: User, word: str, appointment: Appointment, *, at: datetime) -> Answer:
    when = when_words(appointment)
    pk = appointment.pk
    try:
        if word == CONFIRM:
            sessions.confirm_by_patient(appointment, actor=person, via="sms", now=at)
            return Answer(
                "confirmed",
                _("Thank you. Your session on %(when)s is confirmed.") % {"when": when},
                pk,
            )
        if word == ANOTHER_TIME:
            before = appointment.another_time_requested_at
            asked = sessions.ask_for_another_time(appointment, actor=person, via="sms", now=at)
            if before is None:
                tell_supporter_another_time(asked, at=at)
            link = tokens.absolute(reverse("sessions:reschedule", args=[pk]))
            return Answer(
                "another_time",
                _(
                    "Choose another time here: %(link)s. Your supporter will see that you "
                    "asked. Until you move it, your session stays on %(when)s."
                )
                % {"link": link, "when": when},
                pk,
            )
        sessions.cancel(appointment, actor=person, reason=_("Cancelled by text reply"), now=at)
        return Answer("cancelled", _("Your session on %(when)s is cancelled.") % {"when": when}, pk)
    except (ValidationError, PermissionDenied) as refusal:
        reason = " ".join(getattr(refusal, "messages", None) or [str(refusal)])
        return Answer(
            f"refused_{word.lower()}",
            _("Trellis: %(reason)s") % {"reason": reason},
            pk,
        )
