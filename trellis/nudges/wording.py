"""What a delivery was about and why it was not sent, in the words the care team and the
clinic's admins read (the record's delivery log, the clinic's delivery rates).

Templates and reasons are short codes in the database (`Delivery.template`,
`Delivery.reason`); the pages never show a code where plain words exist. A code that is not
listed here (a new template, a provider's own error) is shown tidied up rather than hidden,
so nothing becomes invisible because nobody wrote its words yet.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trellis.nudges.models import RuleKind

# The templates of the rules (named like the rule kinds) and of the one-off texts.
TEMPLATES: dict[str, Promise] = {
    RuleKind.EXERCISE_TODAY: _("Reminder of today's exercise"),
    RuleKind.QUESTIONNAIRE_DUE: _("A questionnaire is due"),
    RuleKind.QUESTIONNAIRE_OVERDUE: _("A questionnaire is overdue"),
    RuleKind.APPOINTMENT_24H: _("Live session tomorrow"),
    RuleKind.APPOINTMENT_1H: _("Live session in an hour"),
    RuleKind.INACTIVITY: _("A warm word after a few quiet days"),
    RuleKind.MESSAGE_WAITING: _("A message from the care team is waiting"),
    RuleKind.WEEKLY_SUMMARY: _("Your week (summary)"),
    RuleKind.SUPPORTER_DIGEST: _("Digest of what needs a supporter"),
    "appointment_reminder": _("Live session reminder"),
    "appointment_confirmed": _("Live session confirmed (answer to a reply)"),
    "appointment_cancelled": _("Live session cancelled (answer to a reply)"),
    "appointment_rebook": _("Link to choose another time"),
    "reply_help": _("Help with the reply words"),
    "stop_confirmation": _("Confirmation of STOP"),
    "start_confirmation": _("Confirmation of START"),
    "delivery_failed": _("A patient cannot be reached (to the supporter)"),
    "welcome": _("Welcome"),
}

# Why a delivery was not sent (suppressed) or failed.
REASONS: dict[str, Promise] = {
    "quiet_hours": _("in the patient's quiet hours"),
    "outside_hours": _("outside the hours the clinic allows"),
    "outside_allowed_hours": _("outside the hours the clinic allows"),
    "daily_cap": _("already reached today's limit"),
    "cap_daily": _("already reached today's limit"),
    "weekly_cap": _("already reached this week's limit"),
    "cap_weekly": _("already reached this week's limit"),
    "stop": _("the patient replied STOP"),
    "stopped": _("the patient replied STOP"),
    "unsubscribed": _("the patient unsubscribed"),
    "blocked": _("this channel is blocked for the patient"),
    "channel_blocked": _("this channel is blocked for the patient"),
    "permanent_failure": _("the address does not work"),
    "no_channel": _("no channel the patient allows"),
    "channel_not_allowed": _("the patient did not choose this channel"),
    "no_address": _("no address or number for this channel"),
    "no_phone": _("no phone number"),
    "no_email": _("no e-mail address"),
    "no_subscription": _("no device subscribed to notifications"),
    "not_enrolled": _("not in a program"),
    "not_active": _("the program is not active"),
    "inactive": _("the program is not active"),
    "discharged": _("discharged"),
    "ended": _("the program has ended"),
    "consent_withdrawn": _("consent withdrawn"),
    "no_consent": _("no consent"),
    "expired": _("too late to be useful"),
    "expired_in_quiet_hours": _("quiet hours lasted past the moment it was useful"),
    "inactive_account": _("the account is suspended"),
    "retries_exhausted": _("still failing after the last attempt"),
    "held_by_trial": _("held back by the trial's random draw"),
    "rate_limited": _("the provider asked to slow down"),
    "temporary": _("a temporary failure"),
}


def template_words(template: str) -> str:
    """The plain words of a template code ("exercise_today" -> "Reminder of today's
    exercise"); an unknown code, tidied up."""
    words = TEMPLATES.get(template)
    if words is not None:
        return str(words)
    return template.replace("_", " ").replace(":", " ").strip().capitalize()


def reason_words(reason: str) -> str:
    """Why, in plain words; a code the provider answered is shown as it came (tidied)."""
    if not reason:
        return ""
    code = reason.split(":", 1)[0].strip()
    words = REASONS.get(code) or REASONS.get(reason)
    if words is not None:
        return str(words)
    return gettext("other: %(reason)s") % {"reason": reason.replace("_", " ")}
