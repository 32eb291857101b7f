"""The caseload: ordered by need, reasons in words, filters, and a fixed query budget."""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from trellis.accounts.models import User
from trellis.alerts.services import raise_alert
from trellis.care.models import CareTeamMember, Enrollment, SupportLevel
from trellis.core import timeutil
from trellis.journey.models import ProgressStatus, StepProgress
from trellis.journey.tests.factories import PACK, enroll_alex, publish_test_pack
from trellis.measures.models import QuestionnaireResponse
from trellis.onboarding.services import enroll_patient
from trellis.programs import translations
from trellis.programs.instruments import get_instrument, reliable_change
from trellis.programs.models import Chapter, ProgramVersion, Step
from trellis.programs.services import publish_pack
from trellis.programs.tests.test_pack_translations import CALMER
from trellis.workspace.caseload import Filters, caseload, caseload_page

pytestmark = pytest.mark.django_db


def add_patients(cast: Any, count: int, *, supporter: str = "therapist_maria") -> None:
    """Volume data for the caseload, written in bulk (this is test data, not a workflow)."""
    version = publish_test_pack()
    now = timeutil.now()
    marker = User.objects.count()
    users = User.objects.bulk_create(
        [
            User(email=f"bulk{marker}-{n}@example.org", full_name=f"Bulk Patient {n}", password="!")
            for n in range(count)
        ]
    )
    enrollments = Enrollment.objects.bulk_create(
        [
            Enrollment(
                patient=user,
                organization=cast.clinics["riverside"],
                program_version=version,
                support_level=SupportLevel.COACHED,
                started_at=now - timedelta(days=n % 30),
            )
            for n, user in enumerate(users)
        ]
    )
    CareTeamMember.objects.bulk_create(
        [CareTeamMember(enrollment=e, supporter=cast[supporter]) for e in enrollments]
    )


def open_safety_alert(enrollment: Any, now: Any) -> None:
    """An open safety alert as the safety pathway leaves it (test data)."""
    from trellis.alerts.models import Alert

    Alert.objects.create(
        organization_id=enrollment.organization_id,
        enrollment_id=enrollment.pk,
        kind="safety",
        severity="urgent",
        reason="PHQ-9 item 9 answered above 0",
        raised_at=now,
    )


def page_queries(client: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("caseload:list"))
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_caseload_page_costs_the_same_queries_for_2_and_200_patients(
    cast: Any, client_for: Any
) -> None:
    add_patients(cast, 2)
    client = client_for("therapist_maria")
    page_queries(client)  # warm the session and caches
    small = page_queries(client)
    add_patients(cast, 198)
    large = page_queries(client)
    assert small == large
    now = timeutil.now()
    with CaptureQueriesContext(connection) as captured:
        rows = caseload(cast["therapist_maria"], now=now)
    assert len(rows) == 200
    assert len(captured.captured_queries) <= 4  # order keys, alerts, the page's details
    second, total = caseload_page(cast["therapist_maria"], now=now, offset=100, limit=100)
    assert total == 200
    assert [r.enrollment.pk for r in second] == [r.enrollment.pk for r in rows[100:]]
    page_two = client.get(reverse("caseload:list") + "?page=2")
    assert page_two.status_code == 200
    assert "Page 2 of 2" in page_two.content.decode()


@pytest.mark.parametrize("typed", ["²", "9" * 5000, "0", "-1", "abc"])
def test_a_page_number_that_is_not_one_shows_the_first_page(
    cast: Any, client_for: Any, typed: str
) -> None:
    response = client_for("therapist_maria").get(reverse("caseload:list"), {"page": typed})
    assert response.status_code == 200


def test_safety_alert_comes_first_then_other_alerts_then_the_longest_without_contact(
    cast: Any,
) -> None:
    now = timeutil.now()
    add_patients(cast, 3)
    alex = enroll_alex(cast, now=now - timedelta(days=20))
    raise_alert(
        alex,
        kind="deterioration",
        severity="high",
        reason="PHQ-9 up",
        assigned_to=None,
        now=now,
    )
    rows = caseload(cast["therapist_maria"], now=now)
    assert rows[0].enrollment.pk == alex.pk
    assert any("Alert open" in reason for reason in rows[0].reasons)
    others = rows[1:]
    assert [r.last_contact for r in others] == sorted(r.last_contact for r in others)
    open_safety_alert(others[-1].enrollment, now)
    rows = caseload(cast["therapist_maria"], now=now)
    assert rows[0].enrollment.pk == others[-1].enrollment.pk
    assert rows[0].reasons[0] == "Safety alert open"
    assert rows[1].enrollment.pk == alex.pk


def test_each_row_says_why_in_words(cast: Any, client_for: Any) -> None:
    now = timeutil.now()
    enroll_alex(cast, now=now - timedelta(days=6))
    rows = caseload(cast["therapist_maria"], now=now)
    assert "No activity since starting 6 days ago" in rows[0].reasons
    response = client_for("therapist_maria").get(reverse("caseload:list"))
    assert "No activity since starting 6 days ago" in response.content.decode()


def test_filters_narrow_by_support_level_and_alert_kind(cast: Any) -> None:
    now = timeutil.now()
    add_patients(cast, 2)
    alex = enroll_alex(cast, now=now)
    user = cast["therapist_maria"]
    assert len(caseload(user, now=now)) == 3
    therapist = caseload(user, now=now, filters=Filters(support_level="therapist_assisted"))
    assert [r.enrollment.pk for r in therapist] == [alex.pk]
    assert caseload(user, now=now, filters=Filters(alert_kind="safety")) == []
    open_safety_alert(alex, now)
    assert len(caseload(user, now=now, filters=Filters(alert_kind="safety"))) == 1
    assert caseload(user, now=now, filters=Filters(program="no-such-program")) == []


def test_a_coach_sees_only_patients_they_support_and_a_supervisor_can_pick_a_supporter(
    cast: Any,
) -> None:
    now = timeutil.now()
    enroll_alex(cast, now=now)
    assert caseload(cast["coach_jordan"], now=now) == []
    ruth = cast["supervisor_ruth"]
    assert len(caseload(ruth, now=now)) == 1
    only_jordan = Filters(supporter=str(cast["coach_jordan"].pk))
    assert caseload(ruth, now=now, filters=only_jordan) == []


def test_patients_and_admins_get_403_on_the_caseload(client_for: Any) -> None:
    assert client_for("patient_alex").get(reverse("caseload:list")).status_code == 403
    assert client_for("admin_avery").get(reverse("caseload:list")).status_code == 403


def _scores(enrollment: Enrollment, code: str, totals: list[int], start: Any) -> None:
    """Scored questionnaires a week apart (test data: the caseload reads only the totals)."""
    QuestionnaireResponse.objects.bulk_create(
        [
            QuestionnaireResponse(
                enrollment=enrollment,
                instrument=code,
                total=total,
                submitted_at=start + timedelta(weeks=n),
                client_id=uuid.uuid4(),
            )
            for n, total in enumerate(totals)
        ]
    )


def test_the_reliable_change_is_the_instrument_files_figure() -> None:
    assert reliable_change("PHQ-9") == get_instrument("PHQ-9").reliable_change == 6
    assert reliable_change("GAD-7") == get_instrument("GAD-7").reliable_change == 4


@pytest.mark.parametrize("code", ["PHQ-9", "GAD-7"])
def test_a_rise_of_exactly_the_instruments_reliable_change_is_flagged(cast: Any, code: str) -> None:
    now = timeutil.now()
    alex = enroll_alex(cast, now=now - timedelta(weeks=3))
    rise = get_instrument(code).reliable_change
    assert rise is not None
    _scores(alex, code, [5, 5 + rise], now - timedelta(weeks=2))
    reasons = caseload(cast["therapist_maria"], now=now)[0].reasons
    assert f"{code} up {rise} points" in reasons


@pytest.mark.parametrize("code", ["PHQ-9", "GAD-7"])
def test_a_rise_one_point_below_the_instruments_reliable_change_is_not_flagged(
    cast: Any, code: str
) -> None:
    now = timeutil.now()
    alex = enroll_alex(cast, now=now - timedelta(weeks=3))
    rise = get_instrument(code).reliable_change
    assert rise is not None
    _scores(alex, code, [5, 5 + rise - 1], now - timedelta(weeks=2))
    reasons = caseload(cast["therapist_maria"], now=now)[0].reasons
    assert not any(reason.startswith(f"{code} up") for reason in reasons)


def test_a_gad7_rise_of_4_is_flagged_on_the_page(cast: Any, client_for: Any) -> None:
    now = timeutil.now()
    alex = enroll_alex(cast, now=now - timedelta(weeks=3))
    _scores(alex, "GAD-7", [6, 10], now - timedelta(weeks=2))
    page = client_for("therapist_maria").get(reverse("caseload:list")).content.decode()
    assert "GAD-7 up 4 points" in page


def _second_program(tmp_path: Any) -> Any:
    """A second published program (the test pack under another slug and title)."""
    target = tmp_path / "quiet-nights"
    shutil.copytree(PACK, target)
    pack_file = target / "pack.yaml"
    text = pack_file.read_text().replace("slug: test-steady-steps", "slug: test-quiet-nights")
    pack_file.write_text(text.replace("title: Steady steps", "title: Quiet nights", 1))
    return publish_pack(target, actor=None)


def test_a_patient_in_two_programs_has_one_row_per_program_each_named(
    cast: Any, client_for: Any, tmp_path: Any
) -> None:
    now = timeutil.now()
    enroll_alex(cast, now=now)
    enroll_patient(
        patient=cast["patient_alex"],
        program_version=_second_program(tmp_path),
        support_level=SupportLevel.COACHED,
        supporters=[cast["therapist_maria"]],
        actor=cast["therapist_maria"],
        now=now,
    )
    page = client_for("therapist_maria").get(reverse("caseload:list")).content.decode()
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    assert len(rows) == 2
    assert {("Steady steps" in row, "Quiet nights" in row) for row in rows} == {
        (True, False),
        (False, True),
    }
    assert all("Alex" in row for row in rows)


def _named_patients(cast: Any, scores: dict[str, int | None]) -> dict[str, Enrollment]:
    """Patients of therapist_maria by name, each with a latest PHQ-9 (None: no score)."""
    version = publish_test_pack()
    now = timeutil.now()
    out = {}
    for name, total in scores.items():
        user = User.objects.create(email=f"{name.lower()}@example.org", full_name=name)
        enrollment = Enrollment.objects.create(
            patient=user,
            organization=cast.clinics["riverside"],
            program_version=version,
            support_level=SupportLevel.COACHED,
            started_at=now - timedelta(days=3),
        )
        CareTeamMember.objects.create(enrollment=enrollment, supporter=cast["therapist_maria"])
        if total is not None:
            _scores(enrollment, "PHQ-9", [total], now - timedelta(days=1))
        out[name] = enrollment
    return out


def _order(client: Any, **params: str) -> list[str]:
    page = client.get(reverse("caseload:list"), params).content.decode()
    body = page.split("<tbody>")[1]
    cells = [cell.split("<a href=", 1)[1] for cell in body.split('<th scope="row"')[1:]]
    return [cell.split('">', 1)[1].split("</a>", 1)[0] for cell in cells]


def test_sorting_by_a_column_either_way_keeps_rows_without_a_value_last(
    cast: Any, client_for: Any
) -> None:
    _named_patients(cast, {"Ada": 9, "Bo": None, "Cy": 21, "Di": 14})
    client = client_for("therapist_maria")
    assert _order(client, sort="patient") == ["Ada", "Bo", "Cy", "Di"]
    assert _order(client, sort="-patient") == ["Di", "Cy", "Bo", "Ada"]
    assert _order(client, sort="-phq9") == ["Cy", "Di", "Ada", "Bo"]
    assert _order(client, sort="phq9") == ["Ada", "Di", "Cy", "Bo"]


def test_column_headers_link_to_their_sort_and_say_which_way_with_aria_sort(
    cast: Any, client_for: Any
) -> None:
    _named_patients(cast, {"Ada": 9})
    client = client_for("therapist_maria")
    page = client.get(reverse("caseload:list"), {"sort": "-phq9", "support_level": "coached"})
    html = page.content.decode()
    assert '<th scope="col" class="col-phq9" aria-sort="descending">' in html
    assert 'href="?support_level=coached&amp;sort=phq9"' in html  # a second click reverses
    assert 'href="?support_level=coached&amp;sort=patient"' in html  # filters are kept
    assert 'href="?support_level=coached&amp;sort=-alerts"' in html  # most alerts first
    assert html.count("aria-sort=") == 1
    assert '<option value="-phq9" selected>PHQ-9</option>' in html  # the phone's picker
    default = client.get(reverse("caseload:list")).content.decode()
    assert '<th scope="col" class="col-need" aria-sort="ascending">' in default
    assert default.count("aria-sort=") == 1
    assert "the one who needs you most first" in default


@pytest.mark.parametrize("typed", ["", "nonsense", "-", "--phq9", "x" * 500, "need"])
def test_an_unknown_sort_orders_by_need(cast: Any, client_for: Any, typed: str) -> None:
    _named_patients(cast, {"Ada": 9})
    response = client_for("therapist_maria").get(reverse("caseload:list"), {"sort": typed})
    assert response.status_code == 200
    assert 'class="col-need" aria-sort="ascending"' in response.content.decode()


@pytest.mark.parametrize("sort", ["need", "patient", "-phq9", "active", "session", "alerts"])
def test_every_sort_costs_the_same_queries_for_2_and_40_patients(
    cast: Any, client_for: Any, sort: str
) -> None:
    add_patients(cast, 2)
    client = client_for("therapist_maria")

    def cost() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("caseload:list"), {"sort": sort})
        assert response.status_code == 200
        return len(captured.captured_queries)

    cost()  # warm the session
    small = cost()
    add_patients(cast, 38)
    assert cost() == small


def test_the_api_sorts_like_the_page_and_refuses_an_unknown_sort_with_422(
    cast: Any, client_for: Any
) -> None:
    _named_patients(cast, {"Ada": 9, "Bo": None, "Cy": 21})
    client = client_for("therapist_maria")
    response = client.get("/api/v1/care/caseload", {"sort": "-phq9"})
    assert response.status_code == 200
    assert [row["patient_name"] for row in response.json()] == ["Cy", "Ada", "Bo"]
    assert {row["patient_zone"] for row in response.json()} == {"America/New_York"}
    assert client.get("/api/v1/care/caseload", {"sort": "shoe-size"}).status_code == 422


def test_the_caseload_names_program_and_chapter_in_the_readers_language_as_the_record_does(
    cast: Any, client_for: Any
) -> None:
    translations.clear_cache()
    version = publish_pack(CALMER, actor=None)
    enrollment = enroll_patient(
        patient=cast["patient_alex"],
        program_version=version,
        support_level=SupportLevel.THERAPIST_ASSISTED,
        supporters=[cast["therapist_maria"]],
        actor=cast["therapist_maria"],
        now=timeutil.now(),
    )
    first_step = Step.objects.filter(version=version).order_by("position").first()
    assert first_step is not None
    StepProgress.objects.update_or_create(
        enrollment=enrollment, step=first_step, defaults={"status": ProgressStatus.COMPLETED}
    )
    with translation.override("fi"):
        rows = caseload(cast["therapist_maria"], now=timeutil.now())
        chapter = Chapter.objects.get(pk=first_step.chapter_id)
        assert ProgramVersion.objects.get(pk=version.pk).title == "Rauhallisemmat päivät"
    row = next(r for r in rows if r.enrollment.pk == enrollment.pk)
    assert row.program == "Rauhallisemmat päivät"
    assert row.chapter == chapter.title
    assert row.chapter != Chapter.objects.get(pk=first_step.chapter_id).title  # English
    rows = caseload(cast["therapist_maria"], now=timeutil.now())
    assert next(r for r in rows if r.enrollment.pk == enrollment.pk).program == version.title
