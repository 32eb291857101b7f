"""Every write of the nudges pipeline: queue a nudge, block and lift a channel, record what
a channel or a provider answered, mark a nudge opened, read notifications.

Respect is decided here, once, for every channel (docs/nudges-delivery.md):

- nothing for an enrollment that is not active (discharged, completed, withdrawn) or
  after a patient withdrew consent (treatment, data use or automated features);
- nothing on a channel the person did not choose, has no address for, or has blocked
  (STOP blocks every channel; an unsubscribe or an address that does not work, one);
- at most the clinic's daily and weekly caps of nudges per patient, counted in the
  patient's own local day and week (a nudge sent by two channels counts once;
  appointment texts are transactional and not counted, but STOP still stops them);
- only in the clinic's allowed hours and outside the patient's quiet hours, in the
  patient's zone: a nudge queued in quiet hours waits for them to end, and is not sent
  at all if that is after it expires.

Every nudge that is not sent is still a Delivery row, status suppressed, with its reason.

The package's modules: `respecting` (who may be nudged, when, by which channel),
`queueing`, `blocks`, `outcomes` (what channels and providers answered; opening and
reading). Everything is imported here, so callers write `services.queue_nudge(...)`.
"""

from trellis.nudges.services.blocks import (
    RESUMABLE_CHANNELS,
    RESUMABLE_REASONS,
    block,
    lift,
    resume,
    unsubscribe,
)
from trellis.nudges.services.outcomes import (
    PROVIDER_STATUSES,
    mark_all_read,
    mark_opened,
    mark_read,
    max_attempts,
    permanent_failure,
    record_outcome,
    record_provider_status,
    tell_supporters,
)
from trellis.nudges.services.queueing import (
    hours_of_delivery,
    queue_nudge,
    send_time_reason,
    suppress,
)
from trellis.nudges.services.respecting import (
    CONSENTS_FOR_NUDGES,
    COUNTED,
    PATIENT_DEFAULT_CHANNELS,
    STAFF_DEFAULT_CHANNELS,
    Availability,
    Standing,
    active_blocks,
    availability,
    cap_reason,
    channel_reason,
    chosen_channels,
    hours_for,
    outreach_settings,
    person_reason,
    preferences_of,
    standing_of,
    standings,
    zone_of,
)

__all__ = [
    "CONSENTS_FOR_NUDGES",
    "COUNTED",
    "PATIENT_DEFAULT_CHANNELS",
    "PROVIDER_STATUSES",
    "RESUMABLE_CHANNELS",
    "RESUMABLE_REASONS",
    "STAFF_DEFAULT_CHANNELS",
    "Availability",
    "Standing",
    "active_blocks",
    "availability",
    "block",
    "cap_reason",
    "channel_reason",
    "chosen_channels",
    "hours_for",
    "hours_of_delivery",
    "lift",
    "mark_all_read",
    "mark_opened",
    "mark_read",
    "max_attempts",
    "outreach_settings",
    "permanent_failure",
    "person_reason",
    "preferences_of",
    "queue_nudge",
    "record_outcome",
    "record_provider_status",
    "resume",
    "send_time_reason",
    "standing_of",
    "standings",
    "suppress",
    "tell_supporters",
    "unsubscribe",
    "zone_of",
]
