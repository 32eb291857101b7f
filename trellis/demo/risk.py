"""Demo dropout risk: a model for each demo clinic and tonight's scores and risk alerts.

A demo clinic has a handful of patients, far below the 500 past enrollments a clinic's own
model needs. So the demo installs a model trained on a simulated cohort (`trellis
simulate`, 2,000 enrollments over 8 weeks, a fixed seed), and its card says so: it shows
what a clinic with a model sees, not how well a model would do for these patients. Then
the night's scoring runs through the real service, so supporters find risk alerts with
their reasons.

Running it again trains nothing when a clinic already has a model; the scores of the day
are replaced.
"""

from __future__ import annotations

from datetime import datetime

from trellis.demo.personas import Cast
from trellis.insights import scoring
from trellis.insights.risk import learn, simulate

COHORT = {"patients": 2000, "weeks": 8, "seed": 2026}
TRAINED_ON = (
    "A simulated cohort of 2,000 enrollments (trellis simulate, seed 2026), for the "
    "demonstration only: these figures say nothing about this clinic's patients."
)


def seed_risk(cast: Cast, now: datetime) -> dict[str, int]:
    """Install the demonstration model where a clinic has none, then score every clinic."""
    model: learn.Model | None = None
    scored: dict[str, int] = {}
    for key, clinic in cast.clinics.items():
        if scoring.active_model(clinic) is None:
            if model is None:
                cohort = simulate.simulate(
                    COHORT["patients"], COHORT["weeks"], seed=COHORT["seed"]
                )
                model = learn.train(
                    cohort.events, cohort.enrollments, source={"simulated": COHORT}
                )
            scoring.install(clinic, model, trained_on=TRAINED_ON, actor=None, now=now)
        night = scoring.score_clinic(clinic, now=now)
        scored[key] = night.alerts
    return scored
