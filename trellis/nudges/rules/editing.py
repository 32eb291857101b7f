"""A clinic's reminder rules and outreach limits: the defaults, checking a rule against the
clinic's hours, and the services that change them (each in one transaction, audited)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from trellis import audit
from trellis.accounts.models import Organization, User
from trellis.nudges.models import (
    DecisionPoint,
    DigestFrequency,
    OutreachSettings,
    ReminderRule,
    RuleKind,
)


@dataclass(frozen=True)
class Default:
    kind: str
    send_at: time | None
    window_from: time = time(9, 0)
    window_until: time = time(20, 0)
    inactivity_days: int | None = None
    digest_frequency: str = ""


DEFAULTS: tuple[Default, ...] = (
    Default(RuleKind.EXERCISE_TODAY, time(18, 0)),
    Default(RuleKind.QUESTIONNAIRE_DUE, time(10, 0)),
    Default(RuleKind.QUESTIONNAIRE_OVERDUE, time(10, 0)),
    Default(RuleKind.APPOINTMENT_24H, None, time(8, 0), time(21, 0)),
    Default(RuleKind.APPOINTMENT_1H, None, time(8, 0), time(21, 0)),
    Default(RuleKind.INACTIVITY, time(17, 0), inactivity_days=4),
    Default(RuleKind.MESSAGE_WAITING, None),
    Default(RuleKind.WEEKLY_SUMMARY, time(10, 0)),
    Default(
        RuleKind.SUPPORTER_DIGEST,
        time(8, 0),
        time(8, 0),
        time(18, 0),
        digest_frequency=DigestFrequency.DAILY,
    ),
)


# Defaults and editing ---------------------------------------------------------------


def outreach_settings(organization: Organization) -> OutreachSettings:
    """The clinic's outreach settings (the defaults until someone changes them)."""
    found, _created = OutreachSettings.objects.get_or_create(organization=organization)
    return found


@transaction.atomic
def ensure_default_rules(organization: Organization) -> list[ReminderRule]:
    """Give a clinic the default rule of every kind it does not have yet (for every
    program). Safe to call again: existing rules are left as they are."""
    outreach_settings(organization)
    have = set(
        ReminderRule.objects.filter(organization=organization, program_key="").values_list(
            "kind", flat=True
        )
    )
    made = [
        ReminderRule(
            organization=organization,
            program_key="",
            kind=d.kind,
            send_at=d.send_at,
            window_from=d.window_from,
            window_until=d.window_until,
            inactivity_days=d.inactivity_days,
            digest_frequency=d.digest_frequency,
        )
        for d in DEFAULTS
        if d.kind not in have
    ]
    ReminderRule.objects.bulk_create(made, ignore_conflicts=True)
    return list(ReminderRule.objects.filter(organization=organization))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _span(start: time, end: time) -> set[int]:
    """The minutes of the day from `start` up to `end` (wrapping past midnight)."""
    a, b = _minutes(start), _minutes(end)
    return set(range(a, b)) if a < b else set(range(a, 1440)) | set(range(0, b))


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def check_rule(rule: ReminderRule, settings: OutreachSettings) -> None:
    """Refuse a rule that could never send, or only outside the clinic's allowed hours;
    the message says which hours the rule would use and which the clinic allows."""
    errors: dict[str, list[str]] = defaultdict(list)
    if rule.window_from >= rule.window_until:
        errors["window_until"].append(
            _("The rule's window must end after it starts (on the same day).")
        )
    if rule.kind == RuleKind.INACTIVITY and not rule.inactivity_days:
        errors["inactivity_days"].append(_("Say after how many days without activity."))
    if rule.kind == RuleKind.SUPPORTER_DIGEST:
        if rule.digest_frequency not in DigestFrequency.values:
            errors["digest_frequency"].append(_("Choose daily or weekly."))
        if rule.program_key:
            errors["program_key"].append(_("The supporters' digest is for the whole clinic."))
    if not Decimal(0) <= Decimal(rule.send_probability) <= Decimal(1):
        errors["send_probability"].append(_("The probability must be between 0 and 1."))
    if errors:
        raise ValidationError(dict(errors))
    allowed = _span(settings.allowed_from, settings.allowed_until)
    hours = _("%(start)s-%(end)s") % {
        "start": _hhmm(settings.allowed_from),
        "end": _hhmm(settings.allowed_until),
    }
    if not _span(rule.window_from, rule.window_until) & allowed:
        raise ValidationError(
            {
                "window_from": _(
                    "This rule would send only between %(start)s and %(end)s, outside the "
                    "clinic's hours %(hours)s."
                )
                % {
                    "start": _hhmm(rule.window_from),
                    "end": _hhmm(rule.window_until),
                    "hours": hours,
                }
            }
        )
    if rule.send_at is not None and _minutes(rule.send_at) not in allowed:
        raise ValidationError(
            {
                "send_at": _(
                    "This rule would send at %(at)s, outside the clinic's hours %(hours)s."
                )
                % {"at": _hhmm(rule.send_at), "hours": hours}
            }
        )


RULE_FIELDS = (
    "enabled",
    "send_at",
    "window_from",
    "window_until",
    "inactivity_days",
    "digest_frequency",
    "send_probability",
    "channels",
)


def _plain(value: Any) -> Any:
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, Decimal):
        return str(value)
    return value


@transaction.atomic
def save_rule(
    *,
    organization: Organization,
    actor: User,
    kind: str,
    program_key: str = "",
    values: Mapping[str, Any],
) -> ReminderRule:
    """Create or change the clinic's rule of `kind` for `program_key` (blank: every
    program). Refused with the reason when it would only send outside the clinic's hours.
    Audited as `nudges.rule.save` with the fields that changed."""
    if kind not in RuleKind.values:
        raise ValidationError({"kind": _("Unknown kind of reminder.")})
    rule = (
        ReminderRule.objects.select_for_update()
        .filter(organization=organization, program_key=program_key, kind=kind)
        .first()
    )
    created = rule is None
    if rule is None:
        base = ReminderRule.objects.filter(
            organization=organization, program_key="", kind=kind
        ).first()
        rule = ReminderRule(organization=organization, program_key=program_key, kind=kind)
        if base is not None:
            for name in RULE_FIELDS:
                setattr(rule, name, getattr(base, name))
    before = {name: _plain(getattr(rule, name)) for name in RULE_FIELDS}
    for name, value in values.items():
        if name not in RULE_FIELDS:
            raise ValidationError({name: _("This field cannot be changed here.")})
        setattr(rule, name, value)
    rule.full_clean(exclude=["organization"])
    check_rule(rule, outreach_settings(organization))
    after = {name: _plain(getattr(rule, name)) for name in RULE_FIELDS}
    changed = {k: [before[k], after[k]] for k in RULE_FIELDS if before[k] != after[k]}
    if not created and not changed:
        return rule
    rule.save()
    audit.record(
        action="nudges.rule.save",
        actor=actor,
        subject=rule,
        organization=organization,
        details={"kind": kind, "program_key": program_key, "created": created, **changed},
    )
    return rule


@transaction.atomic
def delete_program_rule(*, rule: ReminderRule, actor: User) -> None:
    """Remove a program's own rule, so the clinic-wide rule holds for it again. A rule
    with decision points stays (switched off) so the trial data keeps its rule."""
    if not rule.program_key:
        raise ValidationError(_("The clinic-wide rule cannot be removed; switch it off instead."))
    if DecisionPoint.objects.filter(rule=rule).exists():
        rule.enabled = False
        rule.save(update_fields=["enabled", "updated_at"])
        action = "nudges.rule.disable"
    else:
        rule.delete()
        action = "nudges.rule.delete"
    audit.record(
        action=action,
        actor=actor,
        object_type="nudges.reminderrule",
        object_id=str(rule.pk),
        organization=rule.organization_id,
        details={"kind": rule.kind, "program_key": rule.program_key},
    )


OUTREACH_FIELDS = ("allowed_from", "allowed_until", "daily_cap", "weekly_cap")


@transaction.atomic
def save_outreach_settings(
    *, organization: Organization, actor: User, values: Mapping[str, Any]
) -> OutreachSettings:
    """Change the clinic's allowed hours and caps. Refused when a rule in force would then
    send only outside the allowed hours (the message names it). Audited."""
    found = OutreachSettings.objects.select_for_update().filter(organization=organization).first()
    settings = found or OutreachSettings(organization=organization)
    before = {name: _plain(getattr(settings, name)) for name in OUTREACH_FIELDS}
    for name, value in values.items():
        if name not in OUTREACH_FIELDS:
            raise ValidationError({name: _("This field cannot be changed here.")})
        setattr(settings, name, value)
    settings.full_clean(exclude=["organization"])
    for rule in ReminderRule.objects.filter(organization=organization, enabled=True):
        try:
            check_rule(rule, settings)
        except ValidationError as error:
            reason = " ".join(m for msgs in error.message_dict.values() for m in msgs)
            raise ValidationError(
                {
                    "allowed_from": _("%(rule)s: %(reason)s")
                    % {"rule": RuleKind(rule.kind).label, "reason": reason}
                }
            ) from None
    after = {name: _plain(getattr(settings, name)) for name in OUTREACH_FIELDS}
    changed = {k: [before[k], after[k]] for k in OUTREACH_FIELDS if before[k] != after[k]}
    if found is not None and not changed:
        return settings
    settings.save()
    audit.record(
        action="nudges.settings.save",
        actor=actor,
        subject=settings,
        organization=organization,
        details=changed,
    )
    return settings
