"""Reading recipients from CSV as Swedish Excel writes it (UTF-8 with BOM, `;` or `,`).

Every bad row is reported with its line number and reason; callers import nothing while any
row is bad, so a list is never half-imported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from service.recipients.schemas import Recipient

REQUIRED_COLUMNS = {"name"}
KNOWN_COLUMNS = {"external_id", "name", "phone", "email", "languages", "audiences", "groups"}
EMAIL_RE = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")
LIST_SEPARATORS = re.compile(r"[|/ ]+")


@dataclass(frozen=True)
class RowError:
    """One bad row: its line number in the file and what is wrong."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class CsvResult:
    """Recipients read from a file, and every problem found."""

    recipients: list[Recipient]
    errors: list[RowError]


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


def _recipient(
    row: dict[str, str], known_languages: Iterable[str], known_audiences: Iterable[str]
) -> Recipient:
    name = (row.get("name") or "").strip()
    if not name:
        raise ValueError("name is empty")
    phone_raw = (row.get("phone") or "").strip()
    email = (row.get("email") or "").strip() or None
    if not phone_raw and not email:
        raise ValueError("give a phone number or an e-mail address")
    if email and not EMAIL_RE.match(email):
        raise ValueError(f"e-mail {email!r} is not an e-mail address")
    languages = _split(row.get("languages") or "") or ("sv",)
    unknown = [lang for lang in languages if lang not in set(known_languages)]
    if unknown:
        raise ValueError(f"unknown language {unknown[0]!r}")
    audiences = _split(row.get("audiences") or "") or ("general-public",)
    unknown = [a for a in audiences if a not in set(known_audiences)]
    if unknown:
        raise ValueError(f"unknown audience {unknown[0]!r}")
    return Recipient(
        name=name,
        phone=normalise_phone(phone_raw) if phone_raw else None,
        email=email,
        languages=languages,
        audiences=audiences,
        external_id=(row.get("external_id") or "").strip(),
        groups=_split(row.get("groups") or ""),
    )


def read_recipients(
    data: bytes, known_languages: Iterable[str], known_audiences: Iterable[str]
) -> CsvResult:
    """Parse a CSV file's bytes; the header names the columns (any order, any case)."""
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
    languages, audiences = list(known_languages), list(known_audiences)
    recipients: list[Recipient] = []
    errors: list[RowError] = []
    for row in reader:
        line = reader.line_num
        cleaned = {(k or "").strip().lower(): (v or "") for k, v in row.items() if k is not None}
        if not any(value.strip() for value in cleaned.values()):
            continue  # Excel leaves blank lines at the end
        if None in row:
            errors.append(RowError(line, "more fields than the header has columns"))
            continue
        try:
            recipients.append(_recipient(cleaned, languages, audiences))
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
    return CsvResult(recipients, errors)
