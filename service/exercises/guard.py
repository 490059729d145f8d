"""What every scheduled or scripted notice must be: an exercise or a test, checked and marked.

A schedule or a script can never send an actual alert: the mode is checked when it is added and
again when it fires, and an update follows only a notice of the same mode (notices.service
refuses anything else), so no edit along the way can turn an exercise into a real alert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.content import ContentLibrary
from service.notices.schemas import Mode
from service.notices.service import (
    Notice,
    NoticeInvalid,
    NoticeProblem,
    ReferenceLookup,
    validate_notice,
)
from service.variants.service import render_notice

EXERCISE_MODES = (Mode.exercise.value, Mode.test.value)
MAX_FAILURES_LISTED = 10


def mode_problems(raw: dict[str, Any]) -> list[NoticeProblem]:
    """A problem unless the notice is explicitly an exercise or a test."""
    mode = raw.get("mode")
    if mode in EXERCISE_MODES:
        return []
    shown = "missing (which means actual)" if mode is None else repr(mode)
    return [
        NoticeProblem(
            "mode",
            f"is {shown}; schedules and exercise scripts send only exercise or test notices "
            '("mode": "exercise" or "test"), never an actual alert',
        )
    ]


def validate_exercise_notice(
    raw: dict[str, Any],
    library: ContentLibrary,
    *,
    now: datetime | None = None,
    references: ReferenceLookup | None = None,
) -> Notice:
    """The validated notice, or NoticeInvalid naming every problem (an actual mode included)."""
    problems = mode_problems(raw)
    try:
        notice = validate_notice(raw, library, now=now, references=references)
    except NoticeInvalid as exc:
        raise NoticeInvalid([*problems, *exc.problems]) from None
    if problems or notice.envelope.mode.value not in EXERCISE_MODES:
        raise NoticeInvalid(problems)
    return notice


def failed_checks(notice: Notice, library: ContentLibrary, public_url: str | None) -> list[str]:
    """One line per variant check that failed (readability, SMS size, translation)."""
    report = render_notice(notice, library, public_url=public_url)
    lines = []
    for check in report.checks:
        if check.passed:
            continue
        errors = "; ".join(f.message for f in check.findings if f.severity == "error")
        key = check.variant.key
        lines.append(f"{check.audience.id} {key.language} {key.name}: {errors}")
    return lines


def summarise_failures(lines: list[str]) -> str:
    """The failed checks in one reason, the first few in full."""
    shown = "; ".join(lines[:MAX_FAILURES_LISTED])
    more = (
        f"; and {len(lines) - MAX_FAILURES_LISTED} more" if len(lines) > MAX_FAILURES_LISTED else ""
    )
    return f"{len(lines)} variant checks failed: {shown}{more}"
