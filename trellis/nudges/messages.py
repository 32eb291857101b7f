"""What a nudge says: one builder per template, written in the recipient's language.

`render(delivery)` picks the builder registered for `delivery.template`, switches to the
recipient's language (their own choice, else their clinic's) and returns a Message. The
words are warm, short and never clinical: a subject, an SMS or a push never names a
questionnaire's topic, a score or a symptom, and the inactivity nudge never guilts.

A builder returns the link to where the nudge leads (a path such as /today/); `render`
turns it into the nudge's own opening link (/notifications/<id>/open/ on this Trellis),
which marks the delivery opened and then goes on to that path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trellis.accounts.language import language_for
from trellis.nudges import tokens
from trellis.nudges.channels.base import Message
from trellis.nudges.models import Channel, Delivery

Builder = Callable[[Delivery], Message]

_BUILDERS: dict[str, Builder] = {}


def register(template: str, build: Builder) -> None:
    """Make `template` available to every channel (a later registration replaces one)."""
    if not template or len(template) > 40:
        raise ValueError("a template name is 1 to 40 characters")
    _BUILDERS[template] = build


def registered() -> list[str]:
    return sorted(_BUILDERS)


def language_of(delivery: Delivery) -> str:
    return language_for(delivery.recipient, delivery.organization.locale)


def _build(delivery: Delivery) -> Message:
    try:
        build = _BUILDERS[delivery.template]
    except KeyError:
        raise LookupError(f"no message template {delivery.template!r}") from None
    with translation.override(language_of(delivery)):
        return build(delivery)


def destination(delivery: Delivery) -> str:
    """Where the nudge leads once opened: a path on this Trellis."""
    link = _build(delivery).link
    return link if link.startswith("/") and not link.startswith("//") else "/"


def open_path(delivery: Delivery) -> str:
    return reverse("nudges:open", args=[delivery.pk])


def render(delivery: Delivery) -> Message:
    """The message for one delivery, in its recipient's language, with its opening link."""
    built = _build(delivery)
    link = tokens.absolute(open_path(delivery))
    with translation.override(language_of(delivery)):
        html = built.html or email_html(delivery, built.text.split("\n\n"), link, _("Open Trellis"))
        text = built.text
        if delivery.channel == Channel.EMAIL:
            text = f"{text}\n\n{link}\n\n{_footer(delivery)}"
    return Message(subject=built.subject, text=text, html=html, short=built.short, link=link)


def _footer(delivery: Delivery) -> str:
    return _(
        "This e-mail comes from %(clinic)s through Trellis. To get no more of them: %(link)s"
    ) % {
        "clinic": delivery.organization.name,
        "link": tokens.unsubscribe_url(delivery.recipient_id),
    }


def email_html(delivery: Delivery, paragraphs: list[str], link: str, action: str) -> str:
    """The HTML part of an e-mail: the same paragraphs, one button, the unsubscribe line."""
    return render_to_string(
        "nudges/email.html",
        {
            "paragraphs": [p for p in paragraphs if p.strip()],
            "link": link,
            "action": action,
            "clinic": delivery.organization.name,
            "unsubscribe": tokens.unsubscribe_url(delivery.recipient_id),
            "language": language_of(delivery),
        },
    )


def _name(delivery: Delivery) -> str:
    return str(delivery.context.get("name") or delivery.recipient.preferred_name or "").strip()


def _hello(delivery: Delivery) -> str:
    name = _name(delivery)
    return _("Hello %(name)s,") % {"name": name} if name else _("Hello,")


def _patient_message(
    delivery: Delivery, *, subject: str, lines: list[str], short: str, path: str
) -> Message:
    text = "\n\n".join(
        [
            _hello(delivery),
            *lines,
            _("With warm wishes,\n%(clinic)s") % {"clinic": delivery.organization.name},
        ]
    )
    return Message(subject=subject, text=text, html="", short=short, link=path)


def build_exercise_today(delivery: Delivery) -> Message:
    return _patient_message(
        delivery,
        subject=_("Today's step is ready"),
        lines=[
            _("Today's step in your program is ready whenever you are. It takes a few minutes.")
        ],
        short=_("Today's step is ready when you are."),
        path=reverse("journey:today"),
    )


def build_questionnaire_due(delivery: Delivery) -> Message:
    return _patient_message(
        delivery,
        subject=_("A short check-in is ready"),
        lines=[
            _(
                "A short check-in is ready for you. Your answers help your care team "
                "see how things are going."
            )
        ],
        short=_("A short check-in is ready for you."),
        path=reverse("measures:due"),
    )


def build_questionnaire_overdue(delivery: Delivery) -> Message:
    return _patient_message(
        delivery,
        subject=_("Your check-in is still open"),
        lines=[
            _(
                "Your check-in is still open. When you have a few minutes, answering it "
                "helps your care team support you."
            )
        ],
        short=_("Your check-in is still open when you have a moment."),
        path=reverse("measures:due"),
    )


def build_inactivity(delivery: Delivery) -> Message:
    return _patient_message(
        delivery,
        subject=_("Thinking of you"),
        lines=[
            _("We are thinking of you. Your program is here whenever you would like to come back.")
        ],
        short=_("Thinking of you. Trellis is here whenever you like."),
        path=reverse("journey:today"),
    )


def build_message_waiting(delivery: Delivery) -> Message:
    return _patient_message(
        delivery,
        subject=_("You have a new message"),
        lines=[_("Someone from your care team has written to you. You can read it in Trellis.")],
        short=_("You have a new message in Trellis."),
        path=reverse("messaging:mine"),
    )


def _count(context: dict[str, Any], key: str) -> int | None:
    value = context.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def build_weekly_summary(delivery: Delivery) -> Message:
    context = delivery.context
    lines = [_("Here is your week in Trellis.")]
    steps = _count(context, "steps_completed")
    days = _count(context, "active_days")
    if steps is not None:
        lines.append(
            ngettext("You completed %(count)d step.", "You completed %(count)d steps.", steps)
            % {"count": steps}
        )
    if days is not None:
        lines.append(
            ngettext(
                "You spent time on your program on %(count)d day.",
                "You spent time on your program on %(count)d days.",
                days,
            )
            % {"count": days}
        )
    lines.append(_("Every small step counts. See you next week."))
    return _patient_message(
        delivery,
        subject=_("Your week"),
        lines=lines,
        short=_("Your week in Trellis is ready."),
        path=reverse("journey:story"),
    )


def build_contact_failed(delivery: Delivery) -> Message:
    """To a supporter: a patient cannot be reached on one channel any more."""
    context = delivery.context
    channel = str(context.get("channel", ""))
    channel_label = str(Channel(channel).label) if channel in Channel.values else channel
    values = {"name": str(context.get("patient_name", "")), "channel": channel_label}
    enrollment_id = context.get("enrollment_id")
    path = reverse("caseload:record", args=[enrollment_id]) if enrollment_id else "/"
    text = (
        _(
            "Reminders to %(name)s by %(channel)s cannot be delivered: the address does not work, "
            "so Trellis has stopped using it. Please check their contact details with them."
        )
        % values
    )
    return Message(
        subject=_("A patient cannot be reached by %(channel)s") % values,
        text=text,
        html="",
        # In-app only (inside Trellis, for the care team): it may name the patient.
        short=_("Reminders to %(name)s by %(channel)s cannot be delivered.") % values,
        link=path,
    )


def build_supporter_digest(delivery: Delivery) -> Message:
    """To a supporter: what needs them. `context["items"]` is a list of
    {"label": str, "count": int}; the rules that build the digest may register a richer one."""
    items = [
        item
        for item in delivery.context.get("items", [])
        if isinstance(item, dict) and item.get("label") and isinstance(item.get("count"), int)
    ]
    total = sum(int(item["count"]) for item in items)
    lines = [f"- {item['label']}: {item['count']}" for item in items]
    intro = ngettext(
        "%(count)d thing needs you in Trellis.", "%(count)d things need you in Trellis.", total
    ) % {"count": total}
    text = (
        "\n\n".join([_hello(delivery), intro, "\n".join(lines)])
        if lines
        else "\n\n".join([_hello(delivery), _("Nothing needs you in Trellis today.")])
    )
    return Message(
        subject=_("What needs you in Trellis"),
        text=text,
        html="",
        short=intro,
        link=reverse("caseload:list"),
    )


register("exercise_today", build_exercise_today)
register("questionnaire_due", build_questionnaire_due)
register("questionnaire_overdue", build_questionnaire_overdue)
register("inactivity", build_inactivity)
register("message_waiting", build_message_waiting)
register("weekly_summary", build_weekly_summary)
register("contact_failed", build_contact_failed)
register("supporter_digest", build_supporter_digest)
