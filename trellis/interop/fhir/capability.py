"""The CapabilityStatement: exactly what this server supports, built from the same
registry of sources that answers the requests, so the two cannot disagree."""

from __future__ import annotations

from typing import Any

from trellis.core import timeutil
from trellis.interop.fhir import systems
from trellis.interop.fhir.resources import instant
from trellis.interop.fhir.sources import SOURCES

COMMON_DOCUMENTATION = {
    "_id": "The resource's id; several separated by commas.",
    "_lastUpdated": "When the resource last changed (meta.lastUpdated), with a prefix "
    "(eq, ne, lt, gt, le, ge, sa, eb) and any precision from a year to an instant.",
    "patient": "The patient: Patient/<id> or <id>.",
    "subject": "The patient: Patient/<id> or <id>.",
}
PAGING = (
    "Results come in pages of _count (default 50, at most 200); the Bundle's next link "
    "carries the _offset of the following page. Unsupported parameters and modifiers are "
    "refused with 400, never ignored."
)


# Referrals in (docs/referrals.md): the one thing a connected system may write.
REFERRALS: dict[str, Any] = {
    "type": "Bundle",
    "interaction": [
        {
            "code": "create",
            "documentation": "Referrals: POST a Bundle (transaction, batch or collection) of "
            "Patient and ServiceRequest entries; each ServiceRequest becomes an invitation, "
            "answered in a transaction-response or batch-response Bundle. Needs the scope "
            "system/ServiceRequest.write.",
        }
    ],
    "versioning": "no-version",
    "readHistory": False,
    "updateCreate": False,
}


def _search_params(resource_type: str) -> list[dict[str, Any]]:
    source = SOURCES[resource_type]
    params: list[dict[str, Any]] = []
    for name, kind in source.params.items():
        text = source.documentation.get(name) or COMMON_DOCUMENTATION.get(name, "")
        entry: dict[str, Any] = {"name": name, "type": kind}
        if text:
            entry["documentation"] = text
        params.append(entry)
    return params


def capability_statement(*, base: str, token_url: str) -> dict[str, Any]:
    """The server's CapabilityStatement; `base` is its absolute URL (…/fhir/R4)."""
    resources: list[dict[str, Any]] = []
    for resource_type in sorted(SOURCES):
        entry: dict[str, Any] = {
            "type": resource_type,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "searchParam": _search_params(resource_type),
        }
        if resource_type == "Patient":
            entry["operation"] = [
                {"name": "export", "definition": systems.PATIENT_EXPORT_OPERATION}
            ]
        if resource_type == "Group":
            entry["operation"] = [{"name": "export", "definition": systems.GROUP_EXPORT_OPERATION}]
        resources.append(entry)
    resources.append(REFERRALS)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(timeutil.now()),
        "publisher": "Trellis",
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "software": {"name": "Trellis"},
        "implementation": {
            "description": "Trellis FHIR R4 server: read and search of one clinic's records",
            "url": base,
        },
        "fhirVersion": systems.FHIR_VERSION,
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "documentation": PAGING,
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": systems.RESTFUL_SECURITY_SERVICE,
                                    "code": "SMART-on-FHIR",
                                }
                            ],
                            "text": "SMART Backend Services (system scopes)",
                        }
                    ],
                    "extension": [
                        {
                            "url": systems.OAUTH_URIS,
                            "extension": [{"url": "token", "valueUri": token_url}],
                        }
                    ],
                    "description": "A Bearer access token from the token endpoint, issued "
                    "for a signed client assertion; system/<Type>.read scopes.",
                },
                "resource": resources,
                "operation": [{"name": "export", "definition": systems.EXPORT_OPERATION}],
            }
        ],
    }
