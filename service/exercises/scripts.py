"""Exercise scripts: a timed list of injects, each a notice file in exercise (or test) mode.

A script is a folder with `script.toml` and one notice JSON per inject:

    id = "county-exercise-day"
    title = "..."
    nominal_start = "2027-03-10T09:00:00+01:00"   # the T+0 the notices' times are written for
    [[injects]]
    key = "power-cut"        # a name later injects refer to
    at = "0m"                # T+0; "30m", "2h", "1h30m", "45s"
    notice = "01_power_cut.json"
    summary = "..."          # for the staff running the exercise

Each notice file is a valid notice on its own. An update or all-clear refers to an earlier
inject as `"references": "@power-cut"`; the real code is filled in when it is sent. Times in
the notices are moved with the run (by its T+0 minus `nominal_start`).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from service.content import ContentLibrary
from service.exercises.guard import validate_exercise_notice
from service.notices.service import NoticeInvalid

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
SCRIPT_FILE = "script.toml"
MAX_INJECTS = 100
MAX_SCRIPT_BYTES = 256 * 1024
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_DURATION = re.compile(
    r"^(?P<sign>[+-])?\s*(?:T\s*[+]\s*)?(?:(?P<h>\d{1,3})\s*h)?\s*(?:(?P<m>\d{1,5})\s*min|"
    r"(?P<m2>\d{1,5})\s*m)?\s*(?:(?P<s>\d{1,6})\s*s)?$"
)
REFERENCE_PREFIX = "@"


class ScriptInvalid(ValueError):
    """A script that cannot be run; `problems` names every one with its place."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def parse_duration(text: str, *, signed: bool = False) -> timedelta:
    """'30m', '2h', '1h30m', '45s', 'T+30m' (and '-15m' when signed) as a timedelta."""
    cleaned = text.strip()
    match = _DURATION.match(cleaned)
    if not cleaned or not match or not any(match.group(g) for g in ("h", "m", "m2", "s")):
        if cleaned in ("0", "T+0"):
            return timedelta(0)
        raise ValueError(f"{text!r} is not a duration like 30m, 2h, 1h30m or 45s")
    if match.group("sign") and not signed:
        raise ValueError(f"{text!r}: an inject's time counts from T+0 and has no sign")
    seconds = (
        int(match.group("h") or 0) * 3600
        + int(match.group("m") or match.group("m2") or 0) * 60
        + int(match.group("s") or 0)
    )
    return timedelta(seconds=-seconds if match.group("sign") == "-" else seconds)


@dataclass(frozen=True)
class Inject:
    """One notice of a script, at its offset from T+0."""

    key: str
    offset: timedelta
    notice_file: str
    raw: dict[str, Any]
    summary: str

    @property
    def follows(self) -> str | None:
        """The key of the earlier inject this one updates, if any."""
        reference = self.raw.get("references")
        if isinstance(reference, str) and reference.startswith(REFERENCE_PREFIX):
            return reference.removeprefix(REFERENCE_PREFIX)
        return None


@dataclass(frozen=True)
class Script:
    """A loaded, validated exercise script."""

    id: str
    title: str
    description: str
    nominal_start: datetime
    injects: tuple[Inject, ...]
    folder: Path


def shipped_scripts() -> list[str]:
    """The ids of the example scripts that ship with the service."""
    return sorted(
        p.parent.name.replace("_", "-") for p in SCRIPTS_DIR.glob(f"*/{SCRIPT_FILE}") if p.is_file()
    )


def script_path(argument: str) -> Path:
    """The script.toml a command-line argument names: a path, or a shipped script's id."""
    path = Path(argument)
    if path.is_dir():
        return path / SCRIPT_FILE
    if path.is_file():
        return path
    return SCRIPTS_DIR / argument.replace("-", "_") / SCRIPT_FILE


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        known = ", ".join(shipped_scripts())
        raise ScriptInvalid(
            [f"cannot read {path}: {exc.strerror}; shipped scripts: {known}"]
        ) from None
    if len(data) > MAX_SCRIPT_BYTES:
        raise ScriptInvalid([f"{path} is larger than {MAX_SCRIPT_BYTES // 1024} KiB"])
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScriptInvalid([f"{path}: {exc}"]) from None


def _notice(folder: Path, name: Any, where: str, problems: list[str]) -> dict[str, Any] | None:
    if not isinstance(name, str) or not name or Path(name).name != name:
        problems.append(f"{where}.notice: give a file name in the script's folder")
        return None
    try:
        raw = json.loads((folder / name).read_text("utf-8"))
    except OSError as exc:
        problems.append(f"{where}.notice: cannot read {name}: {exc.strerror}")
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(f"{where}.notice: {name} is not valid JSON: {exc}")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}.notice: {name} must hold a JSON object")
        return None
    return raw


def _inject(
    entry: Any,
    index: int,
    folder: Path,
    earlier: dict[str, Inject],
    nominal_start: datetime | None,
    library: ContentLibrary,
    problems: list[str],
) -> Inject | None:
    where = f"injects.{index}"
    if not isinstance(entry, dict):
        problems.append(f"{where}: must be a table with key, at and notice")
        return None
    key = entry.get("key")
    if not isinstance(key, str) or not KEY_RE.match(key):
        problems.append(f"{where}.key: use 1-40 lower-case letters, digits and -")
        key = f"#{index}"
    elif key in earlier:
        problems.append(f"{where}.key: {key!r} is used by an earlier inject")
    offset = timedelta(0)
    try:
        offset = parse_duration(str(entry.get("at", "")))
    except ValueError as exc:
        problems.append(f"{where}.at: {exc}")
    if earlier and offset < max(i.offset for i in earlier.values()):
        problems.append(f"{where}.at: comes before an earlier inject; list injects in time order")
    raw = _notice(folder, entry.get("notice"), where, problems)
    if raw is None:
        return None
    inject = Inject(key, offset, entry["notice"], raw, str(entry.get("summary", "")))
    follows = inject.follows
    reference = raw.get("references")
    if reference is not None and follows is None:
        problems.append(
            f"{where} ({inject.notice_file}): references: refer to an earlier inject as "
            f'"@key", e.g. "@{next(iter(earlier), "power-cut")}"'
        )
    elif follows is not None:
        first = earlier.get(follows)
        if first is None:
            problems.append(
                f"{where} ({inject.notice_file}): references: no earlier inject {follows!r}"
            )
        elif first.raw.get("scenario") != raw.get("scenario"):
            problems.append(
                f"{where} ({inject.notice_file}): scenario: differs from {follows!r}, "
                "which it follows"
            )
    sent = nominal_start + offset if nominal_start else None
    try:
        validate_exercise_notice(raw, library, now=sent)
    except NoticeInvalid as exc:
        problems += [f"{where} ({inject.notice_file}): {p}" for p in exc.problems]
    return inject


def load_script(argument: str, library: ContentLibrary) -> Script:
    """Read and validate a script; ScriptInvalid names every problem, in every notice."""
    path = script_path(argument)
    data = _read_toml(path)
    folder = path.parent
    problems: list[str] = []
    for name in ("id", "title"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            problems.append(f"{name}: is missing")
    nominal_start = None
    try:
        nominal_start = datetime.fromisoformat(str(data.get("nominal_start", "")))
        if nominal_start.tzinfo is None:
            problems.append("nominal_start: needs an offset, e.g. 2027-03-10T09:00:00+01:00")
            nominal_start = None
    except ValueError:
        problems.append("nominal_start: give the T+0 the notices' times are written for")
    entries = data.get("injects")
    if not isinstance(entries, list) or not entries:
        problems.append("injects: the script has no injects ([[injects]] tables)")
        entries = []
    elif len(entries) > MAX_INJECTS:
        problems.append(f"injects: at most {MAX_INJECTS}")
        entries = entries[:MAX_INJECTS]
    injects: dict[str, Inject] = {}
    for index, entry in enumerate(entries):
        inject = _inject(entry, index, folder, injects, nominal_start, library, problems)
        if inject is not None:
            injects.setdefault(inject.key, inject)
    if problems or nominal_start is None:
        raise ScriptInvalid([f"{path.name}: {p}" if ":" not in p[:40] else p for p in problems])
    return Script(
        id=data["id"].strip(),
        title=data["title"].strip(),
        description=str(data.get("description", "")).strip(),
        nominal_start=nominal_start,
        injects=tuple(injects.values()),
        folder=folder,
    )
