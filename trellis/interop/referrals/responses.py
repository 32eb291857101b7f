"""The FHIR answers to a referral Bundle: OperationOutcome for every refusal, and a
transaction-response (or batch-response) Bundle with one entry per ServiceRequest. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.http import HttpResponse

from trellis.interop.fhir.systems import CANONICAL, CONTENT_TYPE
from trellis.interop.models import ReferralOutcome
from trellis.interop.referrals.bundle import Problem

# The code system of a referral's outcome, carried in each response entry's outcome.
REFERRAL_OUTCOMES = f"{CANONICAL}/CodeSystem/referral-outcomes"

RESPONSE_STATUS = {
    ReferralOutcome.INVITED: "201 Created",
    ReferralOutcome.ALREADY_INVITED: "200 OK",
    ReferralOutcome.ALREADY_ENROLLED: "200 OK",
    ReferralOutcome.REFUSED: "409 Conflict",
}


def issue(
    diagnostics: str,
    *,
    code: str = "invalid",
    severity: str = "error",
    expression: Iterable[str] = (),
    outcome: str = "",
) -> dict[str, Any]:
    item: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    expressions = [e for e in expression if e]
    if expressions:
        item["expression"] = expressions
    if outcome:
        item["details"] = {
            "coding": [
                {
                    "system": REFERRAL_OUTCOMES,
                    "code": outcome,
                    "display": str(ReferralOutcome(outcome).label),
                }
            ],
            "text": str(ReferralOutcome(outcome).label),
        }
    return item


def operation_outcome(issues: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": list(issues)}


def problem_issue(problem: Problem) -> dict[str, Any]:
    """A Bundle problem, named by its FHIRPath, its entry's index and its fullUrl."""
    return issue(problem.text, code=problem.code, expression=[problem.expression])


def fhir_response(body: dict[str, Any], status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=CONTENT_TYPE
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def refusal(status: int, diagnostics: str, code: str, **headers: str) -> HttpResponse:
    return fhir_response(
        operation_outcome([issue(diagnostics, code=code)]), status=status, **headers
    )


def response_bundle(
    bundle_type: str, entries: Sequence[tuple[str, str, str]], now: datetime
) -> dict[str, Any]:
    """`entries`: (the ServiceRequest's fullUrl, outcome, message) in the Bundle's order."""
    kind = "transaction-response" if bundle_type == "transaction" else "batch-response"
    items = []
    for full_url, outcome, message in entries:
        refused = outcome == ReferralOutcome.REFUSED
        response: dict[str, Any] = {
            "status": RESPONSE_STATUS[ReferralOutcome(outcome)],
            "outcome": operation_outcome(
                [
                    issue(
                        message,
                        code="business-rule" if refused else "informational",
                        severity="error" if refused else "information",
                        outcome=outcome,
                    )
                ]
            ),
        }
        item: dict[str, Any] = {"response": response}
        if full_url:
            item["fullUrl"] = full_url
        items.append(item)
    return {
        "resourceType": "Bundle",
        "type": kind,
        "timestamp": now.isoformat(),
        "entry": items,
    }
