"""The clinic's dropout-risk page (/clinic/insights/model/): the card of its model for its
clinicians and administrators, or why it has none; and the reasons on a risk alert."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from trellis.alerts.models import AlertKind, Severity
from trellis.alerts.services import raise_alert
from trellis.care.models import SupportLevel
from trellis.core import timeutil
from trellis.insights import scoring
from trellis.insights.models import RiskCheck, RiskSettings
from trellis.insights.risk import card
from trellis.insights.tests.test_scoring import NIGHT, enroll, score, trained_once

pytestmark = pytest.mark.django_db

TRAINED_ON = "Trained on the 2025 enrollments of a partner clinic"


def read(client: Client) -> str:
    """The model page as a person reads it, its whitespace folded."""
    response = client.get(reverse("insights:model"))
    assert response.status_code == 200
    return " ".join(response.content.decode().split())


def test_clinicians_and_administrators_read_the_card_of_their_clinics_model(
    cast: Any, client_for: Any
) -> None:
    model = trained_once().model
    scoring.install(
        cast.clinics["riverside"], model, trained_on=TRAINED_ON, actor=None, now=timeutil.now()
    )
    pages = {
        key: read(client_for(key))
        for key in ("coach_jordan", "therapist_maria", "supervisor_ruth", "admin_avery")
    }
    for html in pages.values():
        assert "Dropout risk at Riverside Community Clinic" in html
        assert "Model card" in html and TRAINED_ON in html
        assert "No model is used at this clinic" not in html

    html = pages["therapist_maria"]
    data, test = model.card["data"], model.card["test"]
    low, high = test["auc_95"]
    assert f"<dd>{card.KINDS[model.kind]}</dd>" in html
    assert (
        f"{data['enrollments']} enrollments ({data['examples']} examples), started "
        f"{data['started_from'][:10]} to {data['started_until'][:10]}. {TRAINED_ON}"
    ) in html
    assert f"{test['auc']:.3f} (95% interval {low:.3f} to {high:.3f})" in html
    assert f"<dd>{test['ece']:.3f}</dd>" in html
    assert f"<dd>{data['dropped_rate']:.1%}</dd>" in html
    # The calibration chart, a dot a bin, and the same figures as a table.
    start = html.index('class="chart calibration"')
    chart = html[html.rindex("<svg", 0, start) : html.index("</svg>", start)]
    assert chart.count("<circle") == len(test["calibration"]) > 0
    for row in test["calibration"]:
        assert (
            f"<tr><td>{row['predicted']:.1%}</td><td>{row['observed']:.1%}</td>"
            f"<td>{row['count']}</td></tr>"
        ) in html
    for day, row in model.card["test_by_day"].items():
        assert f'<tr><th scope="row">{day}</th><td>{row["count"]}</td>' in html
    # Each group in words: the card's "support level" / "therapist_assisted" are a level of
    # support named as the clinic names it.
    names = {"age band": "Age band", "sex": "Sex", "support level": "Level of support"}
    words = {
        "female": "Female",
        "male": "Male",
        **{level.value: str(level.label) for level in SupportLevel},
    }
    assert set(model.card["subgroups"]) == set(names)
    for name, rows in model.card["subgroups"].items():
        for row in rows:
            assert (
                f"<td>{names[name]}</td><td>{words.get(row['group'], row['group'])}</td>"
                f"<td>{row['count']}</td><td>{card.pct(row['rate'])}</td>"
                f"<td>{card.num(row['auc'])}</td>"
            ) in html
    assert "<td>Level of support</td><td>Therapist-assisted</td>" in html
    for limit in model.card["limits"]:
        assert f"<li>{escape(limit)}</li>" in html
    assert "No check yet" in html
    assert "A supporter gets at most 5 risk alerts a day, for risks of 0.50 or more" in html


def test_the_page_shows_the_monthly_checks_and_the_clinics_alert_settings(
    cast: Any, client_for: Any
) -> None:
    riverside = cast.clinics["riverside"]
    now = timeutil.now()
    installed = scoring.install(
        riverside, trained_once().model, trained_on=TRAINED_ON, actor=None, now=now
    )
    RiskSettings.objects.create(
        organization=riverside, daily_alerts_per_supporter=3, alert_from=0.65
    )
    for days_ago, scores, auc, ece, fits, findings in (
        (90, 40, 0.61, 0.2, True, ["only 40 known outcomes: too few to judge"]),
        (60, 412, 0.951, 0.021, True, []),
        (
            30,
            412,
            0.7,
            0.12,
            False,
            ["AUC 0.700, against 0.950 on its card", "calibration error 0.120, above 0.05"],
        ),
    ):
        RiskCheck.objects.create(
            organization=riverside,
            model=installed,
            checked_at=now - timedelta(days=days_ago),
            period_from=(now - timedelta(days=days_ago + 44)).date(),
            period_until=(now - timedelta(days=days_ago + 14)).date(),
            scores=scores,
            auc=auc,
            ece=ece,
            fits=fits,
            findings=findings,
        )

    html = read(client_for("supervisor_ruth"))

    assert "<td>412</td><td>0.951</td><td>0.021</td><td>Fits</td>" in html
    assert (
        "<td>412</td><td>0.700</td><td>0.120</td><td><strong>Needs a look</strong>: "
        "AUC 0.700, against 0.950 on its card; calibration error 0.120, above 0.05</td>"
    ) in html
    assert "<td>40</td><td>0.610</td><td>0.200</td><td>Too few outcomes to judge</td>" in html
    # Newest first.
    assert html.index("Needs a look") < html.index("Fits") < html.index("Too few outcomes")
    assert "No check yet" not in html
    assert "A supporter gets at most 3 risk alerts a day, for risks of 0.65 or more" in html


def test_without_a_model_the_page_says_so_with_the_past_enrollments_and_the_500_needed(
    cast: Any, client_for: Any
) -> None:
    now = timeutil.now()
    enroll(cast, "patient_alex", started=now - timedelta(days=20))
    enroll(cast, "patient_blair", started=now - timedelta(days=16))
    enroll(cast, "patient_casey", started=now - timedelta(days=3))  # too recent to learn from
    enroll(cast, "patient_farah", ("therapist_otto",), started=now - timedelta(days=30))
    scoring.install(
        cast.clinics["hillside"], trained_once().model, trained_on=TRAINED_ON, actor=None, now=now
    )

    html = read(client_for("admin_avery"))

    assert "No model is used at this clinic" in html
    assert (
        "Your clinic has 2 past enrollments. A model that learns from fewer than 500 "
        "overstates how good it is"
    ) in html
    assert f'href="{reverse("alerts:rules")}"' in html
    assert "Model card" not in html and TRAINED_ON not in html
    # Hillside's staff read the card of Hillside's model.
    hillside = read(client_for("admin_hana"))
    assert "Dropout risk at Hillside Wellbeing Service" in hillside
    assert TRAINED_ON in hillside and "No model is used" not in hillside


@pytest.mark.parametrize("key", ["patient_alex", "patient_farah", "researcher_lee"])
def test_patients_and_researchers_may_not_read_the_page(client_for: Any, key: str) -> None:
    assert client_for(key).get(reverse("insights:model")).status_code == 403


def test_signing_in_is_needed_and_staff_need_their_second_step(client_for: Any) -> None:
    url = reverse("insights:model")
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("accounts:login"))
    unverified = client_for("therapist_maria", verified=False).get(url)
    assert unverified.status_code == 302
    assert unverified["Location"].startswith("/accounts/mfa/verify/")


def test_a_risk_alert_shows_its_reasons_as_a_list_and_links_to_the_model_card(
    cast: Any, client_for: Any
) -> None:
    riverside = cast.clinics["riverside"]
    installed = scoring.install(
        riverside, trained_once().model, trained_on=TRAINED_ON, actor=None, now=NIGHT
    )
    alex = enroll(cast, "patient_alex")
    because = ("no activity for 6 days", "active on 0 of the last 7 days")
    [alert] = scoring.raise_risk_alerts(
        riverside, [score(alex, 0.8312, installed, reasons=because)], now=NIGHT
    )

    page = client_for("therapist_maria").get(reverse("alerts:detail", kwargs={"pk": alert.pk}))

    assert page.status_code == 200
    html = " ".join(page.content.decode().split())
    assert "Why Trellis pointed this patient out" in html
    assert "Estimated chance of no activity in the next 14 days: 0.83." in html
    assert (
        '<ul class="reasons"><li>no activity for 6 days</li>'
        "<li>active on 0 of the last 7 days</li></ul>"
    ) in html
    assert f'<a href="{reverse("insights:model")}">How good the model is (model card)</a>' in html


def test_other_alerts_say_nothing_of_the_model(cast: Any, client_for: Any) -> None:
    alex = enroll(cast, "patient_alex")
    alert = raise_alert(
        alex,
        kind=AlertKind.INACTIVITY,
        severity=Severity.MEDIUM,
        reason="No activity for 6 days",
        assigned_to=cast["therapist_maria"],
        now=NIGHT,
    )
    assert alert is not None

    page = client_for("therapist_maria").get(reverse("alerts:detail", kwargs={"pk": alert.pk}))

    html = page.content.decode()
    assert "No activity for 6 days" in html
    assert "Why Trellis pointed this patient out" not in html
    assert reverse("insights:model") not in html
