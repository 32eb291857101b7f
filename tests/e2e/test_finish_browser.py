"""The API documentation page and the 404 page in a real Chromium, in the light and the
dark scheme: no console error (a CSP violation would be one), no failed request, no
serious or critical axe violation, and the dark scheme really is dark."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.axe import describe, serious_violations

pytestmark = pytest.mark.browser

SCHEMES = pytest.mark.parametrize("scheme", ["light", "dark"])
# --paper of each scheme in trellis.css, as the browser reports it.
PAGE_BACKGROUND = {"light": "rgb(251, 250, 247)", "dark": "rgb(17, 22, 19)"}


def _background(page: Any) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


@SCHEMES
def test_api_docs_page_loads_without_csp_errors(page: Any, scheme: str) -> None:
    page.emulate_media(color_scheme=scheme)
    page.goto("/docs/api/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trellis API")
    expect(page.locator("article.api-operation").first).to_be_visible()
    page.get_by_role("link", name="ErrorOut").first.click()
    expect(page.locator("#schema-ErrorOut")).to_be_in_viewport()
    assert _background(page) == PAGE_BACKGROUND[scheme]
    assert not page.problems, page.problems
    violations = serious_violations(page)
    assert not violations, describe(violations)


@SCHEMES
def test_404_page_is_calm_in_both_schemes(page: Any, scheme: str) -> None:
    page.emulate_media(color_scheme=scheme)
    response = page.goto("/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("We could not find that page")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert _background(page) == PAGE_BACKGROUND[scheme]
    assert not page.problems.console_errors, page.problems.console_errors
    assert page.problems.failed_requests == [f"404 {page.url}"]
    violations = serious_violations(page)
    assert not violations, describe(violations)
