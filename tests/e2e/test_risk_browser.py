"""Dropout risk in a real browser: the night's scoring points Maria to Alex, who has gone
quiet; she opens the alert, reads why (the reasons in plain words), follows the link to the
model card, comes back and dismisses the alert with a reason. At desk size in English and
at phone size in Finnish; every page passes the walks' checks (tests/e2e/walks.py)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from walks import Walk, sign_in, speaks, walk

from trellis.alerts.models import Alert, AlertKind, AlertState
from trellis.care import consent as care_consent
from trellis.care.models import ConsentDocument, ConsentKind
from trellis.core import timeutil
from trellis.demo import personas
from trellis.insights import scoring
from trellis.insights.risk import learn, simulate
from trellis.journey import services as journey
from trellis.journey.tests.factories import enroll_alex

pytestmark = pytest.mark.browser

DISMISSAL = "Alex told me at our session that she is on holiday this week."


@pytest.fixture(scope="module")
def model() -> learn.Model:
    """A model learned from a small simulated cohort (enough enrollments to be trained)."""
    cohort = simulate.simulate(700, 8, seed=31)
    return learn.train(cohort.events, cohort.enrollments)


def _alex_gone_quiet(cast: personas.Cast, model: learn.Model) -> Alert:
    """Alex agreed to the estimate, was active in her first days and then went quiet; the
    clinic has a model, and tonight's run raises a risk alert for her therapist."""
    now = timeutil.now()
    enrollment = enroll_alex(cast, now=now - timedelta(days=21))
    alex = enrollment.patient
    care_consent.current_documents(enrollment.organization)
    automation = ConsentDocument.objects.get(
        organization__isnull=True,
        kind=ConsentKind.AUTOMATION,
        locale="en",
        version=care_consent.MODEL_DESCRIBED_FROM,
    )
    care_consent.give_consent(automation, actor=alex, now=enrollment.started_at)
    for day in range(3):
        journey.check_in_mood(
            enrollment,
            actor=alex,
            score=6 - day,
            note="",
            client_id=uuid.uuid4(),
            now=enrollment.started_at + timedelta(days=day, hours=10),
        )
    scoring.install(
        enrollment.organization, model, trained_on="A simulated cohort", actor=None, now=now
    )
    scoring.score_clinic(enrollment.organization, now=now)
    return Alert.objects.get(enrollment=enrollment, kind=AlertKind.DROPOUT_RISK)


def _read_and_dismiss(tab: Walk, alert: Alert) -> None:
    page = tab.page
    page.goto("/clinic/alerts/")
    tab.check("alerts")
    tab.go(f"/clinic/alerts/{alert.pk}/")
    # The reasons as the night's run wrote them, in the clinic's language.
    reasons = page.locator("main ul.reasons li")
    expect(reasons).to_have_count(len(alert.data["reasons"]))
    expect(reasons.first).to_have_text(alert.data["reasons"][0])
    tab.check("risk alert")
    page.locator("main a[href$='/clinic/insights/model/']").click()
    expect(page).to_have_url(re.compile(r"/clinic/insights/model/$"))
    expect(page.locator("main svg.calibration")).to_be_visible()
    expect(page.locator("main")).to_contain_text("A simulated cohort")
    tab.check("model card")
    page.go_back()
    form = page.locator(f"main form[action$='/clinic/alerts/{alert.pk}/dismiss/']")
    form.locator("[name=reason]").fill(DISMISSAL)
    form.locator("button[type=submit]").click()
    expect(page.locator("main")).to_contain_text(DISMISSAL)
    tab.check("risk alert dismissed")


@pytest.mark.parametrize(("language", "size"), [("en", "desk"), ("fi", "phone")])
def test_a_supporter_reads_a_risk_alert_its_reasons_and_the_model_card_and_dismisses_it(
    browser: Any,
    cast: personas.Cast,
    live_server: Any,
    model: learn.Model,
    language: str,
    size: str,
) -> None:
    maria = cast["therapist_maria"]
    speaks(maria, language)
    alert = _alex_gone_quiet(cast, model)
    assert alert.assigned_to == maria and alert.data["reasons"]
    with walk(browser, live_server, language, size) as tab:
        sign_in(tab, maria)
        _read_and_dismiss(tab, alert)
        tab.assert_clean()
    alert.refresh_from_db()
    assert alert.state == AlertState.DISMISSED
    assert alert.close_reason == DISMISSAL
    assert alert.closed_by == maria
