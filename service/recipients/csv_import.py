"""Reading recipients from CSV as Swedish Excel writes it (UTF-8 with BOM, `;` or `,`).

Every bad row is reported with its line number and reason; callers import nothing while any
row is bad, so a list is never half-imported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

from service.config import get_settings
from service.notices.text_safety import unsafe_characters
from service.recipients.areas import AreaMap, load_areas
from service.recipients.schemas import Recipient

REQUIRED_COLUMNS = {"name"}
# The order in which export writes them; import takes any order, plus `postal_code`.
COLUMNS = (
    "external_id",
    "name",
    "phone",
    "email",
    "languages",
    "audiences",
    "areas",
    "groups",
    "legal_basis",
    "active",
)
KNOWN_COLUMNS = {*COLUMNS, "postal_code"}
EMAIL_RE = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
LIST_SEPARATORS = re.compile(r"[|/ ]+")
# Excel writes its own booleans in the user's language (SANT/FALSKT in Swedish).
TRUE_WORDS = {"", "yes", "ja", "true", "sant", "1", "x"}
FALSE_WORDS = {"no", "nej", "false", "falskt", "0"}
# A cell starting with one of these is a formula to Excel; export prefixes an apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@")


@dataclass(frozen=True)
class RowError:
    """One bad row: its line number in the file and what is wrong."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class RecipientRow:
    """One good row with the register's own fields, which a Recipient does not carry."""

    line: int
    recipient: Recipient
    areas: tuple[str, ...] = ()
    legal_basis: str = ""
    active: bool = True


@dataclass(frozen=True)
class CsvResult:
    """Recipients read from a file, and every problem found.

    `recipients` holds the active ones (whom a send reaches); `rows` holds every good row.
    """

    recipients: list[Recipient]
    errors: list[RowError]
    rows: list[RecipientRow] = field(default_factory=list)


def normalise_phone(raw: str, region: str = "SE") -> str:
    """E.164 form of a phone number; Swedish numbers may be written locally (070-123 45 67)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"phone {raw!r} is not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"phone {raw!r} is not a valid number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _split(value: str) -> tuple[str, ...]:
    return tuple(part for part in LIST_SEPARATORS.split(value.strip()) if part)


def unquote_cell(value: str) -> str:
    """Undo export's formula guard: `'=x` was written for the text `=x`."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


# Longest value per column (the register's column sizes); longer cells are refused, not cut.
MAX_LENGTHS = {
    "external_id": 100,
    "name": 200,
    "phone": 40,
    "email": 254,
    "legal_basis": 500,
    "languages": 200,
    "audiences": 400,
    "areas": 400,
    "groups": 400,
    "postal_code": 10,
    "active": 10,
}


def _areas(row: dict[str, str], areas: AreaMap | None, problems: list[str]) -> tuple[str, ...]:
    codes = list(_split(row.get("areas") or ""))
    postal = (row.get("postal_code") or "").strip()
    if not codes and not postal:
        return ()
    if areas is None:
        problems.append("areas are given but there is no areas file to check them against")
        return ()
    problems += [f"unknown area {code!r}" for code in codes if code not in areas.areas]
    if postal:
        code = areas.by_postal_code(postal)
        if code is None:
            problems.append(f"postal code {postal!r} is in no area of the areas file")
        else:
            codes.append(code)
    return tuple(dict.fromkeys(codes))  # de-duplicated, order kept


def _active(raw: str, problems: list[str]) -> bool:
    word = raw.strip().lower()
    if word in FALSE_WORDS:
        return False
    if word not in TRUE_WORDS:
        problems.append(f"active {raw.strip()!r} is neither yes nor no")
    return True


def _cell_problems(row: dict[str, str]) -> list[str]:
    """Cells too long, or holding control characters or bidi overrides (names reach reports)."""
    problems = []
    for column, value in row.items():
        limit = MAX_LENGTHS.get(column)
        if limit is not None and len(value) > limit:
            problems.append(f"{column} is {len(value)} characters; at most {limit} are allowed")
        free_text = column == "legal_basis"  # a note, which may run over several lines
        problems += [f"{column} {why}" for why in unsafe_characters(value, free_text=free_text)]
    return problems


def _row(
    line: int,
    row: dict[str, str],
    known_languages: Iterable[str],
    known_audiences: Iterable[str],
    areas: AreaMap | None,
) -> RecipientRow:
    """One row, or ValueError naming every bad cell in it (not just the first)."""
    problems = _cell_problems(row)
    recipient = _recipient(row, known_languages, known_audiences, problems)
    row_areas = _areas(row, areas, problems)
    active = _active(row.get("active") or "", problems)
    if problems or recipient is None:
        raise ValueError("; ".join(problems))
    return RecipientRow(
        line=line,
        recipient=recipient,
        areas=row_areas,
        legal_basis=(row.get("legal_basis") or "").strip(),
        active=active,
    )


def _recipient(
    row: dict[str, str],
    known_languages: Iterable[str],
    known_audiences: Iterable[str],
    problems: list[str],
) -> Recipient | None:
    found = len(problems)
    name = (row.get("name") or "").strip()
    if not name:
        problems.append("name is empty")
    phone_raw = (row.get("phone") or "").strip()
    email = (row.get("email") or "").strip() or None
    if not phone_raw and not email:
        problems.append("give a phone number or an e-mail address")
    if email and not EMAIL_RE.match(email):
        problems.append(f"e-mail {email!r} is not an e-mail address")
    phone = None
    if phone_raw:
        try:
            phone = normalise_phone(phone_raw)
        except ValueError as exc:
            problems.append(str(exc))
    languages = _split(row.get("languages") or "") or ("sv",)
    problems += [f"unknown language {x!r}" for x in languages if x not in set(known_languages)]
    audiences = _split(row.get("audiences") or "") or ("general-public",)
    problems += [f"unknown audience {x!r}" for x in audiences if x not in set(known_audiences)]
    if len(problems) > found:
        return None
    return Recipient(
        name=name,
        phone=phone,
        email=email,
        languages=languages,
        audiences=audiences,
        external_id=(row.get("external_id") or "").strip(),
        groups=_split(row.get("groups") or ""),
    )


def read_recipients(
    data: bytes,
    known_languages: Iterable[str],
    known_audiences: Iterable[str],
    areas: AreaMap | None = None,
) -> CsvResult:
    """Parse a CSV file's bytes; the header names the columns (any order, any case).

    Area codes and postal codes are checked against `areas` (default: the configured
    areas file, read only when the file has an `areas` or `postal_code` column).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return CsvResult(
            [],
            [
                RowError(
                    1, f"the file is not UTF-8 (byte {exc.start}); save it as 'CSV UTF-8' in Excel"
                )
            ],
        )
    if not text.strip():
        return CsvResult([], [RowError(1, "the file is empty")])
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = {(h or "").strip().lower() for h in reader.fieldnames or []}
    missing = REQUIRED_COLUMNS - header
    if missing:
        return CsvResult([], [RowError(1, f"missing column: {', '.join(sorted(missing))}")])
    unknown = header - KNOWN_COLUMNS
    if unknown:
        return CsvResult(
            [],
            [
                RowError(
                    1,
                    f"unknown column: {', '.join(sorted(unknown))}; "
                    f"known: {', '.join(sorted(KNOWN_COLUMNS))}",
                )
            ],
        )
    if areas is None and header & {"areas", "postal_code"}:
        areas = load_areas(get_settings().areas_file)
    languages, audiences = list(known_languages), list(known_audiences)
    rows: list[RecipientRow] = []
    errors: list[RowError] = []
    seen_ids: dict[str, int] = {}  # external_id -> line, since re-import updates by it
    for row in reader:
        line = reader.line_num
        cleaned = {
            (k or "").strip().lower(): unquote_cell(v or "")
            for k, v in row.items()
            if k is not None
        }
        if not any(value.strip() for value in cleaned.values()):
            continue  # Excel leaves blank lines at the end
        if None in row:
            errors.append(RowError(line, "more fields than the header has columns"))
            continue
        try:
            parsed = _row(line, cleaned, languages, audiences, areas)
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        external_id = parsed.recipient.external_id
        if external_id and external_id in seen_ids:
            message = f"external_id {external_id!r} is also on line {seen_ids[external_id]}"
            errors.append(RowError(line, message))
            continue
        if external_id:
            seen_ids[external_id] = line
        rows.append(parsed)
    return CsvResult([r.recipient for r in rows if r.active], errors, rows)
