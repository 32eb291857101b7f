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

# The templates of the rules (named like the rule kinds) and of the one-off nudges.
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
    "contact_failed": _("A patient cannot be reached (to the supporter)"),
    "another_time_asked": _("A patient asked for another session time (to the supporter)"),
}

# Why a delivery was not sent (suppressed) or failed: the codes the pipeline, the
# channels and the providers write.
REASONS: dict[str, Promise] = {
    # The person or their program
    "inactive_account": _("the account is suspended"),
    "enrollment_completed": _("the program is completed"),
    "enrollment_withdrawn": _("the patient left the program"),
    "enrollment_discharged": _("discharged"),
    "consent_withdrawn": _("consent withdrawn"),
    # Blocks and channel choices
    "blocked_stop": _("the patient replied STOP"),
    "blocked_unsubscribed": _("the patient unsubscribed"),
    "blocked_permanent_failure": _("an earlier message could not reach this address"),
    "channel_opted_out": _("the patient did not choose this channel"),
    "no_channel": _("no channel the patient allows"),
    "no_address": _("no address or number for this channel"),
    "unknown_channel": _("a channel Trellis does not have"),
    # Hours and caps
    "quiet_hours": _("in the patient's quiet hours"),
    "outside_allowed_hours": _("outside the hours the clinic allows"),
    "no_allowed_hours": _("no hour is allowed for this patient"),
    "daily_cap": _("already reached today's limit"),
    "weekly_cap": _("already reached this week's limit"),
    "expired": _("too late to be useful"),
    "session_changed": _("the session was moved or cancelled"),
    "held_by_trial": _("held back by the trial's random draw"),
    # What a channel or a provider answered
    "no e-mail address": _("no e-mail address"),
    "no_phone": _("no phone number"),
    "invalid_number": _("the phone number does not work"),
    "unsubscribed": _("the number has opted out with the provider"),
    "empty_message": _("the message was empty"),
    "rate_limited": _("the provider asked to slow down"),
    "provider_unreachable": _("the provider could not be reached"),
    "provider_answer_unreadable": _("the provider's answer could not be read"),
    "sms_not_configured": _("text messages are not set up"),
    "push_not_configured": _("notifications on devices are not set up"),
    "no_push_subscription": _("no device subscribed to notifications"),
    "push_subscription_gone": _("the device no longer accepts notifications"),
    "permanent_failure": _("the address does not work"),
}
GAVE_UP = "gave up after"


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
    if reason.startswith(GAVE_UP):
        # "gave up after 5 attempts: provider_unreachable"
        _head, _colon, last = reason.partition(":")
        last = last.strip()
        if last:
            return gettext("still failing after the last attempt (%(why)s)") % {
                "why": reason_words(last)
            }
        return gettext("still failing after the last attempt")
    words = REASONS.get(reason)
    if words is not None:
        return str(words)
    return gettext("other: %(reason)s") % {"reason": reason.replace("_", " ")}
