"""The columns of the interchange format (docs/events.md): what `trellis events export`
writes and what the risk model reads, named once."""

from __future__ import annotations

EVENT_COLUMNS = ["enrollment_id", "occurred_at", "type", "step_kind", "duration_s", "value"]
ENROLLMENT_COLUMNS = [
    "enrollment_id",
    "started_at",
    "support_level",
    "baseline_phq9",
    "baseline_gad7",
    "ended_at",
    "end_reason",
]
# Optional enrollment columns: read when present, unknown when absent or empty.
OPTIONAL_ENROLLMENT_COLUMNS = ["ehealth_literacy", "age_band", "sex"]
