"""The mood page draws the patient's check-ins as a chart, with the same check-ins as a
table behind a disclosure."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from django.urls import reverse

from trellis.core import timeutil
from trellis.journey import services as journey
from trellis.journey.tests.factories import enroll_alex


def test_the_mood_page_shows_check_ins_as_a_chart_and_a_table(cast: Any, client_for: Any):
    enrollment = enroll_alex(cast)
    now = timeutil.now()
    for days_ago, score in ((3, 4), (2, 6), (1, 8)):
        journey.check_in_mood(
            enrollment,
            actor=cast["patient_alex"],
            score=score,
            note="",
            client_id=uuid.uuid4(),
            now=now - timedelta(days=days_ago),
        )
    html = client_for("patient_alex").get(reverse("journey:mood")).content.decode()
    chart = html[html.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart mood-chart"') :]
    chart = chart[: chart.index("</svg>")]
    assert chart.count('class="point"') == 3
    assert "3 check-ins, from 4 out of 10" in chart
    table = html[html.index('<details class="chart-table">') :]
    table = table[: table.index("</details>")]
    assert re.findall(r"<td>(\d+) out of 10</td>", table) == ["8", "6", "4"]
    assert "<summary>Show the check-ins as a table</summary>" in table


def test_no_chart_before_the_first_check_in(cast: Any, client_for: Any) -> None:
    enroll_alex(cast)
    html = client_for("patient_alex").get(reverse("journey:mood")).content.decode()
    assert "mood-chart" not in html
