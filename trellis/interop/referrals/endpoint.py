"""`POST /fhir/R4/Bundle`: the clinic's EHR sends referrals (Patient + ServiceRequest).

Who: a backend client allowed to refer (`may_refer`) holding a token with the scope
`system/ServiceRequest.write` (or `system/*.write`, or SMART v2's `.c`). The answers:
401 without a usable token, 403 without the right, 415 for another content type, 413 for
a body over the upload limit, 400 for a body that is not a Bundle, 422 naming each entry at
fault (nothing is written), and 200 with a transaction-response or batch-response Bundle.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from trellis.core import timeutil
from trellis.interop.caller import Caller, Unauthorized, authenticate
from trellis.interop.models import ReferralSource
from trellis.interop.referrals.bundle import BundleRejected, Problem, parse_bundle
from trellis.interop.referrals.responses import (
    fhir_response,
    issue,
    operation_outcome,
    problem_issue,
    refusal,
    response_bundle,
)
from trellis.interop.referrals.services import ReferralsRefused, receive_referrals

WRITE_SCOPE = "system/ServiceRequest.write"
CONTENT_TYPES = ("application/fhir+json", "application/json")


def may_refer(caller: Caller) -> bool:
    """The client may refer and its token carries a scope to create ServiceRequests."""
    if not caller.client.may_refer:
        return False
    for scope in caller.scopes:
        context, _, rest = scope.partition("/")
        kind, _, access = rest.partition(".")
        if context != "system" or kind not in ("*", "ServiceRequest"):
            continue
        if access in ("write", "*") or ("c" in access and set(access) <= set("cruds")):
            return True
    return False


@csrf_exempt
def referral_bundle(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return refusal(
            405,
            "Referrals are sent with POST; Trellis does not keep Bundles to read.",
            "not-supported",
            Allow="POST",
        )
    try:
        caller = authenticate(request)
    except Unauthorized as error:
        return refusal(401, str(error), "login", WWW_Authenticate="Bearer")
    if not may_refer(caller):
        return refusal(
            403,
            "This client may not send referrals: the clinic must allow it to refer, and its "
            f"token must carry the scope {WRITE_SCOPE}.",
            "forbidden",
        )
    content_type = request.content_type or ""
    if content_type not in CONTENT_TYPES:
        return refusal(
            415,
            f"Send the Bundle as application/fhir+json, not {content_type or 'no content type'}.",
            "not-supported",
        )
    try:
        body = request.body
    except RequestDataTooBig:
        return refusal(413, "The Bundle is too large; send fewer referrals at once.", "too-costly")
    try:
        bundle = parse_bundle(body)
    except BundleRejected as rejected:
        return fhir_response(
            operation_outcome([problem_issue(p) for p in rejected.problems]),
            status=rejected.status,
        )
    now = timeutil.now()
    try:
        results = receive_referrals(
            organization=caller.organization,
            incoming=bundle.referrals,
            source=ReferralSource.FHIR,
            client=caller.client,
            now=now,
        )
    except ReferralsRefused as refused:
        issues = []
        for item in refused.refusals:
            if item.referral is None:
                issues.append(issue(item.message, code="business-rule"))
                continue
            problem = Problem(
                f"{item.referral.where}.resource.code",
                item.message,
                item.referral.entry_index,
                item.referral.full_url,
                code="code-invalid",
            )
            issues.append(problem_issue(problem))
        return fhir_response(operation_outcome(issues), status=422)
    return fhir_response(
        response_bundle(
            bundle.type,
            [(r.incoming.full_url, r.outcome, r.message) for r in results],
            now,
        )
    )
