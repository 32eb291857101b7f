"""The livelier demo clinic and its dropout risk.

`seed_simulated_patients` adds about 60 simulated patients to Riverside, started over the
last 8 weeks and played through Trellis's own services (`insights.clinic_sim`), so the
caseload, the alerts, the reports and the risk scores have a clinic's worth of people.

`seed_risk` gives each demo clinic a model, runs tonight's scoring, then the hourly alert
rules.

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

from django.conf import settings

from trellis.demo.personas import Cast
from trellis.insights import clinic_sim, rules, scoring
from trellis.insights.risk import learn, simulate
from trellis.programs.models import ProgramVersion

COHORT = {"patients": 2000, "weeks": 8, "seed": 2026}
SIMULATED_CLINIC, SIMULATED_PROGRAM = "riverside", "moving-forward"
SIMULATED_WEEKS = 8
TRAINED_ON = (
    "A simulated cohort of 2,000 enrollments (trellis simulate, seed 2026), for the "
    "demonstration only: these figures say nothing about this clinic's patients."
)


def seed_simulated_patients(cast: Cast, now: datetime) -> int:
    """About 60 simulated patients at Riverside (`TRELLIS_DEMO_SIMULATED_PATIENTS`; none
    again when they exist); how many were added."""
    clinic = cast.clinics[SIMULATED_CLINIC]
    version = (
        ProgramVersion.objects.filter(program__slug=SIMULATED_PROGRAM).order_by("-number").first()
    )
    if version is None:
        return 0
    done = clinic_sim.populate(
        clinic,
        version,
        clinic_sim.supporters_at(clinic),
        patients=settings.TRELLIS_DEMO_SIMULATED_PATIENTS,
        weeks=SIMULATED_WEEKS,
        seed=COHORT["seed"],
        now=now,
    )
    return len(done.enrollments)


def seed_risk(cast: Cast, now: datetime) -> dict[str, int]:
    """Install the demonstration model where a clinic has none, then score every clinic."""
    model: learn.Model | None = None
    scored: dict[str, int] = {}
    for key, clinic in cast.clinics.items():
        if scoring.active_model(clinic) is None:
            if model is None:
                cohort = simulate.simulate(COHORT["patients"], COHORT["weeks"], seed=COHORT["seed"])
                model = learn.train(cohort.events, cohort.enrollments, source={"simulated": COHORT})
            scoring.install(clinic, model, trained_on=TRAINED_ON, actor=None, now=now)
        night = scoring.score_clinic(clinic, now=now)
        scored[key] = night.alerts
    # Then the hourly rules see the simulated patients, as they would in a running clinic.
    rules.evaluate(now)
    return scored
