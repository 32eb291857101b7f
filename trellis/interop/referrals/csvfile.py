"""Reading a file of referrals a clinic admin uploads. Pure: the whole file is checked
first, and every problem names its line and column, so a file is imported whole or not
at all (docs/referrals.md has the format).

    identifier_system,identifier_value,given_name,family_name,email,program,support_level,phone,language,birth_date
    https://ehr.riverside.example/mrn,100234,Nina,Novak,nina@patients.example,calm-steps,coached,,en,1990-04-12

UTF-8 (a byte-order mark is fine), comma separated, one header line. Blank lines are
skipped. Only `identifier_system`, `identifier_value` and `email` must be filled in.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.utils.translation import gettext as _

from trellis.interop.referrals.incoming import (
    MAX_NAME,
    MAX_SYSTEM,
    MAX_VALUE,
    IncomingReferral,
    email_problem,
    is_date,
    is_language,
    is_support_level,
    normal_email,
)

REQUIRED = ("identifier_system", "identifier_value", "email")
OPTIONAL = (
    "given_name",
    "family_name",
    "program",
    "support_level",
    "phone",
    "language",
    "birth_date",
)
COLUMNS = (*REQUIRED[:2], "given_name", "family_name", "email", *OPTIONAL[2:])
MAX_BYTES = 1_000_000
MAX_ROWS = 2000
MAX_SHOWN = 50  # problems listed on the page; the rest are counted


@dataclass(frozen=True)
class LineProblem:
    line: int  # 0: the file as a whole
    column: str
    message: str


class FileRejected(Exception):
    """The file cannot be imported; nothing has been written."""

    def __init__(self, problems: list[LineProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.line}:{p.column}: {p.message}" for p in problems))


def parse_csv(content: bytes) -> list[IncomingReferral]:
    """Every referral of the file, or FileRejected with every problem found."""
    if len(content) > MAX_BYTES:
        raise FileRejected(
            [
                LineProblem(
                    0,
                    "",
                    _("The file is larger than %(limit)s kB; split it into smaller files.")
                    % {"limit": MAX_BYTES // 1000},
                )
            ]
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRejected(
            [
                LineProblem(
                    text_line(content, error.start),
                    "",
                    _("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."),
                )
            ]
        ) from None
    if "\x00" in text:
        raise FileRejected([LineProblem(0, "", _("This is not a CSV file."))])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        message = _("The header is not valid CSV: %s") % error
        raise FileRejected([LineProblem(1, "", message)]) from None
    if header is None or not any(h.strip() for h in header):
        raise FileRejected([LineProblem(0, "", _("The file is empty."))])
    columns = [h.strip().lower() for h in header]
    problems = _header_problems(columns)
    if problems:
        raise FileRejected(problems)

    referrals: list[IncomingReferral] = []
    first_line: dict[tuple[str, str], int] = {}
    rows = 0
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            if rows > MAX_ROWS:
                problems.append(
                    LineProblem(
                        line,
                        "",
                        _("A file holds at most %(limit)s referrals; split it into smaller files.")
                        % {"limit": MAX_ROWS},
                    )
                )
                break
            if len(row) != len(columns):
                problems.append(
                    LineProblem(
                        line,
                        "",
                        _("This line has %(found)s values; the header has %(wanted)s.")
                        % {"found": len(row), "wanted": len(columns)},
                    )
                )
                continue
            values = {c: v.strip() for c, v in zip(columns, row, strict=True)}
            referral = _read_row(values, line, problems)
            if referral is None:
                continue
            key = referral.identifier_key
            if key in first_line:
                problems.append(
                    LineProblem(
                        line,
                        "identifier_value",
                        _("This identifier is already on line %(line)s.")
                        % {"line": first_line[key]},
                    )
                )
                continue
            first_line[key] = line
            referrals.append(referral)
    except csv.Error as error:
        problems.append(
            LineProblem(reader.line_num or line, "", _("This line is not valid CSV: %s") % error)
        )
    if problems:
        raise FileRejected(problems)
    if not referrals:
        raise FileRejected([LineProblem(0, "", _("The file has a header but no referrals."))])
    return referrals


def text_line(content: bytes, offset: int) -> int:
    return content[:offset].count(b"\n") + 1


def _header_problems(columns: list[str]) -> list[LineProblem]:
    problems = []
    known = set(REQUIRED) | set(OPTIONAL)
    for name in columns:
        if name not in known:
            problems.append(
                LineProblem(
                    1,
                    name,
                    _("“%(name)s” is not a column Trellis knows. The columns are: %(columns)s.")
                    % {"name": name, "columns": ", ".join(COLUMNS)},
                )
            )
    for name in sorted({c for c in columns if columns.count(c) > 1}):
        problems.append(LineProblem(1, name, _("This column is in the header twice.")))
    for name in REQUIRED:
        if name not in columns:
            problems.append(LineProblem(1, name, _("The header needs this column.")))
    return problems


def _read_row(
    values: dict[str, str], line: int, problems: list[LineProblem]
) -> IncomingReferral | None:
    before = len(problems)

    def problem(column: str, message: str) -> None:
        problems.append(LineProblem(line, column, message))

    system = values.get("identifier_system", "")
    value = values.get("identifier_value", "")
    if not system:
        problem("identifier_system", _("Fill in the system the identifier belongs to."))
    elif len(system) > MAX_SYSTEM:
        problem("identifier_system", _("At most %(n)s characters.") % {"n": MAX_SYSTEM})
    if not value:
        problem("identifier_value", _("Fill in the patient's identifier."))
    elif len(value) > MAX_VALUE:
        problem("identifier_value", _("At most %(n)s characters.") % {"n": MAX_VALUE})
    email = normal_email(values.get("email", ""))
    if not email:
        problem("email", _("Fill in an e-mail address: the invitation goes there."))
    elif email_problem(email):
        problem("email", _("This is not an e-mail address."))
    given, family = values.get("given_name", ""), values.get("family_name", "")
    if len(f"{given} {family}") > MAX_NAME:
        problem("family_name", _("The name is at most %(n)s characters.") % {"n": MAX_NAME})
    level = values.get("support_level", "")
    if level and not is_support_level(level):
        problem(
            "support_level",
            _("Use self_guided, coached or therapist_assisted, or leave it empty."),
        )
    language = values.get("language", "")
    if language and not is_language(language):
        problem("language", _("Use a language code such as en, fi or es-MX."))
    birth_date = values.get("birth_date", "")
    if birth_date and not is_date(birth_date):
        problem("birth_date", _("Write the date as YYYY-MM-DD."))
    if len(problems) > before:
        return None
    return IncomingReferral(
        where=f"line {line}",
        identifier_system=system,
        identifier_value=value,
        email=email,
        given_name=given,
        family_name=family,
        program=values.get("program", ""),
        support_level=level,
        phone=values.get("phone", "")[:40],
        language=language,
        birth_date=birth_date,
        line=line,
    )
