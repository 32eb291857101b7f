"""The data-rights pages through real requests: the clinic's settings, a patient's request,
refusing and erasing it, erasing on a spoken request, and another clinic's request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from trellis.accounts.models import User
from trellis.audit.models import AuditEvent
from trellis.interop.erasure.services import request_erasure
from trellis.interop.models import DataRightsSettings, Erasure, ErasureStatus
from trellis.interop.tests.rights_factories import T0, discharge, enroll

SETTINGS = "/clinic/data-rights/"
MINE = "/me/erasure/"

pytestmark = pytest.mark.django_db


def test_an_admin_sets_the_clinics_data_rights(cast: Any, client_for: Any) -> None:
    admin = client_for("admin_avery")
    page = admin.get(SETTINGS)
    assert page.status_code == 200 and "No request is waiting." in page.text
    saved = admin.post(
        SETTINGS, {"retention_days": "2190", "erasure_on_request": "on", "research_k": "11"}
    )
    assert saved.status_code == 302
    row = DataRightsSettings.objects.get(organization=cast.clinics["riverside"])
    assert (row.retention_days, row.erasure_on_request, row.research_k) == (2190, True, 11)
    assert AuditEvent.objects.filter(action="data_rights.update").exists()
    bad = admin.post(SETTINGS, {"retention_days": "3", "research_k": "0"})
    assert bad.status_code == 400
    assert "Ensure this value is greater than or equal to 30" in bad.text


def test_a_patient_asks_and_sees_the_refusal_with_its_reason(cast: Any, client_for: Any) -> None:
    discharge(enroll(cast, "patient_alex"), cast, at=T0 + timedelta(days=3))
    alex = client_for("patient_alex")
    assert "Ask for your record to be erased" in alex.get(MINE).text
    assert alex.post(MINE, {}).status_code == 400
    assert alex.post(MINE, {"confirm": "on"}).status_code == 302
    assert "Your request is with the clinic" in alex.get(MINE).text
    waiting = Erasure.objects.get(status=ErasureStatus.REQUESTED)

    admin = client_for("admin_avery")
    listed = admin.get(SETTINGS)
    assert cast["patient_alex"].email in listed.text
    refuse = f"/clinic/data-rights/requests/{waiting.pk}/refuse/"
    assert admin.post(refuse, {}).status_code == 400
    prefix = f"refuse-{waiting.pk}"
    assert (
        admin.post(refuse, {f"{prefix}-reason": "A court asked us to keep it."}).status_code == 302
    )
    page = alex.get(MINE)
    assert "Your last request was refused" in page.text
    assert "A court asked us to keep it." in page.text


def test_erasing_a_request_follows_the_rules_then_signs_the_patient_out(
    cast: Any, client_for: Any
) -> None:
    enrollment = enroll(cast, "patient_alex")
    waiting = request_erasure(
        patient=cast["patient_alex"], organization=cast.clinics["riverside"], now=T0
    )
    admin = client_for("admin_avery")
    assert "still in a program" in admin.get(SETTINGS).text
    erase = f"/clinic/data-rights/requests/{waiting.pk}/erase/"
    confirm = {f"erase-{waiting.pk}-confirm": "on"}
    refused = admin.post(erase, confirm)
    assert refused.status_code == 409 and "still in a program" in refused.text
    discharge(enrollment, cast, at=T0 + timedelta(days=3))
    alex = client_for("patient_alex")
    assert admin.post(erase, {}).status_code == 400
    assert admin.post(erase, confirm).status_code == 302
    assert not User.objects.get(pk=cast["patient_alex"].pk).is_active
    assert alex.get(MINE).status_code == 302  # signed out: to the login page
    assert "Erased" in admin.get(SETTINGS).text


def test_erasing_on_a_spoken_request(cast: Any, client_for: Any) -> None:
    discharge(enroll(cast, "patient_alex"), cast, at=T0 + timedelta(days=3))
    admin = client_for("admin_avery")
    url = "/clinic/data-rights/erase/"
    assert admin.get(url).status_code == 200
    unknown = admin.post(
        url, {"email": "nobody@patients.example", "reason": "By phone.", "confirm": "on"}
    )
    assert unknown.status_code == 400 and "No patient of this clinic" in unknown.text
    other = admin.post(
        url, {"email": cast["patient_farah"].email, "reason": "By phone.", "confirm": "on"}
    )
    assert other.status_code == 400
    no_reason = admin.post(url, {"email": cast["patient_alex"].email, "confirm": "on"})
    assert no_reason.status_code == 400
    done = admin.post(
        url,
        {"email": cast["patient_alex"].email, "reason": "By phone, ID checked.", "confirm": "on"},
    )
    assert done.status_code == 302
    erasure = Erasure.objects.get(status=ErasureStatus.DONE)
    assert erasure.on_request and erasure.reason == "By phone, ID checked."


def test_another_clinics_request_is_not_found(cast: Any, client_for: Any) -> None:
    waiting = request_erasure(
        patient=cast["patient_farah"], organization=cast.clinics["hillside"], now=T0
    )
    admin = client_for("admin_avery")
    for action in ("erase", "refuse"):
        response = admin.post(f"/clinic/data-rights/requests/{waiting.pk}/{action}/", {})
        assert response.status_code == 404
    assert cast["patient_farah"].email not in admin.get(SETTINGS).text


def test_a_clinic_that_does_not_erase_on_request_says_so(cast: Any, client_for: Any) -> None:
    DataRightsSettings.objects.create(
        organization=cast.clinics["riverside"], erasure_on_request=False
    )
    enroll(cast, "patient_alex")
    alex = client_for("patient_alex")
    page = alex.get(MINE)
    assert "does not erase records on request" in page.text and "Send my request" not in page.text
    assert alex.post(MINE, {"confirm": "on"}).status_code == 400
    assert not Erasure.objects.exists()
