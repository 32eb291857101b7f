"""The patient's own record in a real browser: Alex opens My record, downloads the readable
summary (his PHQ-9 score is in it) and the JSON, and asks for a correction of a mood
check-in; Maria, his therapist, finds the request and accepts it; Alex sees the accepted
correction beside his mood check-ins, the original kept. At desk size in English and at
phone size in Finnish; every page passes the walks' checks (tests/e2e/walks.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from walks import Walk, sign_in, speaks, walk

from trellis.audit.models import AuditEvent
from trellis.demo import personas
from trellis.interop.disclosures import RECORD_EXPORT
from trellis.interop.models import AmendmentRequest, AmendmentStatus
from trellis.interop.tests.record_helpers import MOOD_NOTE, alex_with_a_record

pytestmark = pytest.mark.browser

CHANGE = "My mood on that day was 4, not 6: I pressed the wrong number."
SHOTS = Path("/tmp/record-shots")


def _shot(tab: Walk, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    tab.page.screenshot(path=SHOTS / f"{tab.language}-{tab.size}-{name}.png", full_page=True)


def _download(tab: Walk, fmt: str) -> str:
    page = tab.page
    with page.expect_download() as info:
        page.locator(f"main a[href='/me/record/download/{fmt}/']").click()
    download = info.value
    assert re.fullmatch(
        r"trellis-record-\d{4}-\d{2}-\d{2}\.(html|json)", download.suggested_filename
    )
    return Path(download.path()).read_text(encoding="utf-8")


def _alex_asks(tab: Walk) -> None:
    page = tab.page
    page.goto("/me/record/")
    expect(page.locator("main h1")).to_have_text(tab.t("My record"))
    expect(page.locator("main")).to_contain_text("PHQ-9")
    tab.check("my record")
    _shot(tab, "mine")
    summary = _download(tab, "html")
    assert "16 / 27" in summary and MOOD_NOTE in summary
    data = json.loads(_download(tab, "json"))
    assert data["questionnaires"][0]["total"] == 16
    page.locator("#part-mood a[href$='?about=mood']").click()
    expect(page).to_have_url(re.compile(r"/me/record/corrections/new/\?about=mood$"))
    expect(page.locator("select[name=about]")).to_have_value("mood")
    tab.check("ask for a correction")
    # Sent empty first: a clear message, nothing stored.
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#change-error")).to_be_visible()
    # The refusal's 400 is the answer expected here, not a failure of the page.
    tab.failed_requests[:] = [r for r in tab.failed_requests if not r.startswith("400 ")]
    tab.check("ask for a correction, refused")
    page.locator("textarea[name=change]").fill(CHANGE)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/me/record/#amendments$"))
    expect(page.locator("#amendments")).to_contain_text(CHANGE)
    tab.check("my record, request waiting")
    page.goto("/me/record/disclosures/")
    expect(page.locator("main")).to_contain_text(tab.t("Copies you took yourself"))
    tab.check("disclosures")
    _shot(tab, "disclosures")


def _maria_accepts(tab: Walk, request: AmendmentRequest) -> None:
    page = tab.page
    page.goto("/clinic/amendments/")
    tab.check("requests for corrections")
    _shot(tab, "clinic-list")
    page.locator(f"main a[href='/clinic/amendments/{request.pk}/']").click()
    expect(page.locator("main")).to_contain_text(CHANGE)
    tab.check("one request")
    _shot(tab, "clinic-detail")
    page.locator("main form input[value=accept]").check()
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/clinic/amendments/{request.pk}/$"))
    expect(page.locator("main h2").first).to_be_visible()
    tab.check("request accepted")


@pytest.mark.parametrize(("language", "size"), [("en", "desk"), ("fi", "phone")])
def test_a_patient_downloads_their_record_asks_for_a_correction_and_sees_it_accepted(
    browser: Any, cast: personas.Cast, live_server: Any, language: str, size: str
) -> None:
    alex, maria = cast["patient_alex"], cast["therapist_maria"]
    speaks(alex, language)
    speaks(maria, language)
    alex_with_a_record(cast)
    with walk(browser, live_server, language, size) as tab:
        sign_in(tab, alex)
        _alex_asks(tab)
        tab.assert_clean()
    request = AmendmentRequest.objects.get(patient=alex)
    assert request.status == AmendmentStatus.PENDING and request.requested_change == CHANGE
    with walk(browser, live_server, language, size) as tab:
        sign_in(tab, maria)
        _maria_accepts(tab, request)
        tab.assert_clean()
    request.refresh_from_db()
    assert request.status == AmendmentStatus.ACCEPTED and request.decided_by == maria
    with walk(browser, live_server, language, size) as tab:
        sign_in(tab, alex)
        tab.page.goto("/me/record/")
        mood = tab.page.locator("#part-mood")
        expect(mood.locator(".correction")).to_contain_text(CHANGE)
        mood.locator("summary").click()
        expect(mood).to_contain_text(MOOD_NOTE)  # the original stays
        expect(tab.page.locator("#amendments")).to_contain_text(maria.full_name)
        tab.check("my record, correction accepted")
        _shot(tab, "mine-accepted")
        tab.assert_clean()
    formats = sorted(
        e.details["format"]
        for e in AuditEvent.objects.filter(action=RECORD_EXPORT, actor_id=alex.pk)
    )
    assert formats == ["html", "json"]
