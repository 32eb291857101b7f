"""Reminder rules: a clinic's defaults, editing them (audited), and what is due now.

- `editing`: the defaults, `check_rule`, and the services that change rules and limits;
- `due`: which enrollments reach a decision point of a rule now (`due`, `rules_in_force`);
- `digest`: which supporters get their digest now (`digests_due`).

A rule is data (`ReminderRule`): one row per clinic, program and kind. A row with a blank
`program_key` holds for every program of the clinic; a row for one program overrides it
(also when that row is switched off). `ensure_default_rules(org)` gives a clinic the
default set the first time it is needed.

For each kind, `due(rule, now)` answers which active enrollments reach a decision point
now, in a fixed handful of queries however many enrollments there are: the local date and
time of every patient depend only on their time zone, so the query carries one condition
per time zone in use (a clinic has a few), never one query per patient.

When in the day a rule speaks (the patient's zone; Preferences.time_zone, else the clinic's):

- exercise_today: at the patient's reminder time (Preferences.reminder_time, else the rule's
  `send_at`), once a local day, when a step of the program is still to do and none was
  completed that day;
- questionnaire_due / questionnaire_overdue: from the rule's `send_at`, for each time a
  questionnaire falls due (or overdue);
- inactivity: from `send_at`, for each spell of `inactivity_days` days without anything the
  patient did (engagement.PATIENT_INITIATED; the enrollment's start counts as activity);
- message_waiting: inside the rule's window, for each unread message from the care team
  (the oldest), once it has waited `MESSAGE_WAITING_AFTER`;
- weekly_summary: for patients who asked for it, once a week on `SUMMARY_WEEKDAY` at their
  reminder time (else `send_at`);
- supporter_digest: for supporters, daily or weekly (Mondays) at `send_at` in their zone,
  when anything needs them (`digests_due`).

A moment of the day is kept inside the rule's own window (`window_from`..`window_until`):
a reminder time before the window waits for its start, after it comes at its end.

Questionnaires, inactivity and waiting messages are episodes: each is decided at most once
a local day, and once the patient was found available (the nudge sent, or held back by a
trial's draw) the episode has had its decision. A decision that found the patient
unavailable (a cap already reached, quiet hours) leaves the episode open for the next day.
"""

from trellis.nudges.rules.digest import DIGEST_WEEKDAY, DigestDue, digests_due
from trellis.nudges.rules.due import (
    DECIDED_HERE,
    MESSAGE_WAITING_AFTER,
    SUMMARY_WEEKDAY,
    Due,
    Local,
    due,
    local_clocks,
    rules_in_force,
    zones_in_use,
)
from trellis.nudges.rules.editing import (
    DEFAULTS,
    OUTREACH_FIELDS,
    RULE_FIELDS,
    Default,
    check_rule,
    delete_program_rule,
    ensure_default_rules,
    outreach_settings,
    save_outreach_settings,
    save_rule,
)

__all__ = [
    "DECIDED_HERE",
    "DEFAULTS",
    "DIGEST_WEEKDAY",
    "MESSAGE_WAITING_AFTER",
    "OUTREACH_FIELDS",
    "RULE_FIELDS",
    "SUMMARY_WEEKDAY",
    "Default",
    "DigestDue",
    "Due",
    "Local",
    "check_rule",
    "delete_program_rule",
    "digests_due",
    "due",
    "ensure_default_rules",
    "local_clocks",
    "outreach_settings",
    "rules_in_force",
    "save_outreach_settings",
    "save_rule",
    "zones_in_use",
]
