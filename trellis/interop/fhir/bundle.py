"""A page of search results as a Bundle of type searchset, with the links to move on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from trellis.core import timeutil
from trellis.interop.fhir.resources import instant
from trellis.interop.fhir.search import OFFSET_PARAM, Query
from trellis.interop.fhir.sources import Page


def _link(base: str, resource_type: str, pairs: Sequence[tuple[str, str]], offset: int) -> str:
    kept = [(k, v) for k, v in pairs if k != OFFSET_PARAM]
    if offset:
        kept.append((OFFSET_PARAM, str(offset)))
    query = urlencode(kept)
    return f"{base}/{resource_type}" + (f"?{query}" if query else "")


def searchset(
    page: Page,
    *,
    base: str,
    resource_type: str,
    pairs: Sequence[tuple[str, str]],
    query: Query,
) -> dict[str, Any]:
    """`pairs` is the query string as asked; `base` the server's absolute URL."""
    links = [{"relation": "self", "url": _link(base, resource_type, pairs, query.offset)}]
    following = query.offset + query.count
    if query.count and following < page.total:
        links.append({"relation": "next", "url": _link(base, resource_type, pairs, following)})
    if query.offset and query.count:
        earlier = max(0, query.offset - query.count)
        links.append({"relation": "previous", "url": _link(base, resource_type, pairs, earlier)})
    entries = [
        {
            "fullUrl": f"{base}/{found.resource['resourceType']}/{found.resource['id']}",
            "resource": found.resource,
            "search": {"mode": "match"},
        }
        for found in page.found
    ]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(timeutil.now()),
        "total": page.total,
        "link": links,
    }
    if entries:
        bundle["entry"] = entries
    return bundle
