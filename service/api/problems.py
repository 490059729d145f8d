"""RFC 9457 problem details (application/problem+json) for errors raised below the routes."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Problem types are tag URIs (RFC 4151): names, not addresses; README "Limits" explains each.
PROBLEM_TYPE_PREFIX = "tag:klarvarsel,2026:problems/"


def problem_response(
    status: int, kind: str, title: str, detail: str, **members: Any
) -> JSONResponse:
    """A problem+json response: type, title, status and detail, plus extension members."""
    body = {
        "type": PROBLEM_TYPE_PREFIX + kind,
        "title": title,
        "status": status,
        "detail": detail,
        **members,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def byte_count(size: int) -> str:
    """'524,288 bytes (512 KiB)': exact for machines, rounded for people."""
    if size >= 1024 * 1024:
        rounded = f"{size / (1024 * 1024):.1f} MiB".replace(".0 ", " ")
    elif size >= 1024:
        rounded = f"{size / 1024:.1f} KiB".replace(".0 ", " ")
    else:
        return f"{size:,} bytes"
    return f"{size:,} bytes ({rounded})"


def located(problems: list[str]) -> list[dict[str, str]]:
    """'field: what is wrong' messages as problem+json `problems` (location and message)."""
    out = []
    for problem in problems:
        where, sep, what = problem.partition(": ")
        if sep and " " not in where:
            out.append({"location": where, "message": what})
        else:
            out.append({"location": "", "message": problem})
    return out
