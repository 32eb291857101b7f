"""Reading a FHIR search's query string: the parameters, their prefixes and values.

Pure logic, no database: `parse_query` checks every parameter against what a resource type
supports and turns each value into a `DateRange`, a `Token` or a plain text, raising
`SearchError` (HTTP 400, naming the parameter) for anything it does not support. Nothing is
silently ignored, except a supported parameter given with an empty value, which FHIR says a
server ignores.

Dates follow FHIR's rules: a value stands for the whole interval its precision implies
("2026" is the year, "2026-03-02" the day in the clinic's time zone, a full instant one
second), and the prefix compares that interval with the resource's date or period.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from django.db.models import Q

DEFAULT_COUNT = 50
MAX_COUNT = 200
OFFSET_PARAM = "_offset"  # Trellis's paging cursor, written into every next link
PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")
JSON_FORMATS = frozenset({"json", "application/json", "application/fhir+json"})

# The kinds of parameter, as a CapabilityStatement names them.
TOKEN = "token"  # noqa: S105  (a FHIR search parameter type, not a secret)
REFERENCE = "reference"
DATE = "date"
URI = "uri"

DATE_RE = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


class SearchError(ValueError):
    """A search Trellis cannot answer as asked: HTTP 400 with this message."""


class UnsupportedParameter(SearchError):
    """A parameter, modifier or format this server does not support (named in the message)."""


@dataclass(frozen=True)
class DateRange:
    """A date search value: the prefix and the half-open interval [low, high) it stands for."""

    prefix: str
    low: datetime
    high: datetime

    def q(self, start: str, end: str | None = None) -> Q:
        """Rows whose date (the field `start`) or period (`start` to `end`, an open end
        meaning still going on) stands in this relation to the searched interval."""
        low, high = self.low, self.high
        end_field = end or start
        ends_after = Q(**{f"{end_field}__gte": low})
        ends_at_or_after_high = Q(**{f"{end_field}__gte": high})
        ends_before_low = Q(**{f"{end_field}__lt": low})
        if end is not None:
            still_going = Q(**{f"{end}__isnull": True})
            ends_after |= still_going
            ends_at_or_after_high |= still_going
            ends_before_low &= ~still_going
        within = Q(**{f"{start}__gte": low})
        within &= Q(**{f"{end_field}__lt": high})
        if end is not None:
            within &= Q(**{f"{end}__isnull": False})
        match self.prefix:
            case "eq":
                return within
            case "ne":
                return ~within
            case "gt":
                return ends_at_or_after_high
            case "ge":
                return ends_after
            case "lt":
                return Q(**{f"{start}__lt": low})
            case "le":
                return Q(**{f"{start}__lt": high})
            case "sa":
                return Q(**{f"{start}__gte": high})
            case _:  # "eb"
                return ends_before_low


@dataclass(frozen=True)
class Token:
    """A token search value: `system|code`, `code` (any system) or `|code` (no system)."""

    system: str | None
    code: str

    def matches(self, system: str, code: str) -> bool:
        if self.code and self.code != code:
            return False
        if self.system is None:
            return True
        return self.system == system


@dataclass(frozen=True)
class Criterion:
    """One parameter of the search; `values` are alternatives (a comma means "or")."""

    name: str
    values: tuple[DateRange | Token | str, ...]


@dataclass(frozen=True)
class Query:
    """A parsed search: its criteria (all must hold), the page size and the offset."""

    criteria: tuple[Criterion, ...]
    count: int = DEFAULT_COUNT
    offset: int = 0

    def values(self, name: str) -> list[tuple[DateRange | Token | str, ...]]:
        return [c.values for c in self.criteria if c.name == name]


def parse_date(text: str, zone: tzinfo = UTC) -> DateRange:
    """A date search value with its optional prefix: "ge2026-03", "2026-03-02T10:00:00Z"."""
    prefix = "eq"
    value = text
    if len(text) >= 2 and text[:2].isalpha():
        prefix, value = text[:2], text[2:]
        if prefix not in PREFIXES:
            raise SearchError(
                f"'{text}': the prefix '{prefix}' is not one of {', '.join(PREFIXES)}."
            )
    match = DATE_RE.match(value)
    if match is None:
        raise SearchError(
            f"'{text}' is not a date: use YYYY, YYYY-MM, YYYY-MM-DD or a full instant such "
            "as 2026-03-02T10:00:00Z, optionally after a prefix such as ge."
        )
    parts = match.groupdict()
    if parts["hour"] is not None and parts["zone"] is None:
        raise SearchError(f"'{text}': a date with a time needs a time zone (Z or +hh:mm).")
    try:
        low, high = _interval(parts, zone)
    except (ValueError, OverflowError):
        raise SearchError(f"'{text}' is not a date that exists.") from None
    return DateRange(prefix, low, high)


def _interval(parts: Mapping[str, str | None], zone: tzinfo) -> tuple[datetime, datetime]:
    year = int(parts["year"] or 0)
    if parts["month"] is None:
        start = datetime(year, 1, 1, tzinfo=zone)
        return start, datetime(year + 1, 1, 1, tzinfo=zone)
    month = int(parts["month"])
    if parts["day"] is None:
        start = datetime(year, month, 1, tzinfo=zone)
        following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
        return start, following
    day = int(parts["day"])
    if parts["hour"] is None:
        start = datetime(year, month, day, tzinfo=zone)
        following_day = start.date() + timedelta(days=1)
        return start, datetime(
            following_day.year, following_day.month, following_day.day, tzinfo=zone
        )
    zone_text = parts["zone"] or "Z"
    offset = (
        UTC
        if zone_text == "Z"
        else datetime.strptime(zone_text.replace(":", ""), "%z").tzinfo or UTC
    )
    fraction = parts["fraction"]
    start = datetime(
        year,
        month,
        day,
        int(parts["hour"] or 0),
        int(parts["minute"] or 0),
        int(parts["second"] or 0),
        int((fraction or "0").ljust(6, "0")[:6]),
        tzinfo=offset,
    )
    if parts["second"] is None:
        step = timedelta(minutes=1)
    elif fraction is None:
        step = timedelta(seconds=1)
    else:
        step = timedelta(microseconds=10 ** max(0, 6 - len(fraction)))
    return start.astimezone(UTC), (start + step).astimezone(UTC)


def parse_token(text: str) -> Token:
    if "|" not in text:
        return Token(None, text)
    system, _, code = text.partition("|")
    if not system and not code:
        raise SearchError("'|' alone is not a token: give system|code, code or |code.")
    return Token(system, code)


def parse_reference(name: str, text: str, target: str = "Patient") -> str:
    """`Patient/<id>` or `<id>` (or an absolute URL ending so): the id."""
    if "/" in text:
        kind, _, ident = text.rstrip("/").rpartition("/")
        if kind.rsplit("/", 1)[-1] != target:
            raise SearchError(f"'{name}' refers to a {target}: give {target}/<id> or <id>.")
        return ident
    return text


def parse_count(text: str) -> int:
    if not text.isdigit():
        raise SearchError(f"_count must be a whole number from 0 to {MAX_COUNT}, not '{text}'.")
    return min(int(text), MAX_COUNT)


def parse_query(
    pairs: Iterable[tuple[str, str]],
    supported: Mapping[str, str],
    *,
    targets: Mapping[str, str] | None = None,
    zone: tzinfo = UTC,
) -> Query:
    """Every (name, value) of the query string, checked against `supported` (parameter
    name -> its kind): the Query, or SearchError naming the first thing not supported."""
    criteria: list[Criterion] = []
    count = DEFAULT_COUNT
    offset = 0
    for name, raw in pairs:
        if ":" in name:
            base, _, modifier = name.partition(":")
            raise UnsupportedParameter(
                f"The modifier ':{modifier}' on '{base}' is not supported; this server "
                "supports no search modifiers."
            )
        if name == "_format":
            if raw not in JSON_FORMATS:
                raise UnsupportedParameter(
                    f"_format '{raw}' is not supported: this server speaks JSON."
                )
            continue
        if name == "_count":
            count = parse_count(raw)
            continue
        if name == OFFSET_PARAM:
            if not raw.isdigit():
                raise SearchError(f"{OFFSET_PARAM} must be a whole number, not '{raw}'.")
            offset = int(raw)
            continue
        kind = supported.get(name)
        if kind is None:
            known = ", ".join(sorted([*supported, "_count", "_format"]))
            raise UnsupportedParameter(
                f"The search parameter '{name}' is not supported here; supported: {known}."
            )
        if raw == "":
            continue
        values: list[DateRange | Token | str] = []
        for part in raw.split(","):
            if name == "_id":
                values.append(part)  # a plain id: any system means nothing here
            elif kind == DATE:
                values.append(parse_date(part, zone))
            elif kind == TOKEN:
                values.append(parse_token(part))
            elif kind == REFERENCE:
                values.append(parse_reference(name, part, (targets or {}).get(name, "Patient")))
            else:
                values.append(part)
        criteria.append(Criterion(name, tuple(values)))
    return Query(tuple(criteria), count, offset)
