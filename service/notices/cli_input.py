"""Reading a notice file for a command: JSON, validation with every problem, exit codes.

Shared by every command that takes a notice file (render, deliver, print-pack), so a bad file
gets the same clear message and exit code 2 everywhere.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from service.content import get_library
from service.notices.service import Notice, NoticeInvalid, validate_notice

EXIT_FAILED_CHECKS = 1
EXIT_INVALID_INPUT = 2
MAX_NOTICE_FILE_BYTES = 1024 * 1024


def fail_input(message: str) -> typer.Exit:
    """Print `error: message` and return the exit (code 2) to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_INVALID_INPUT)


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path` (or stdin for -); exit 2 saying what is wrong with it."""
    try:
        if str(path) == "-":
            text = sys.stdin.read(MAX_NOTICE_FILE_BYTES + 1)
        else:
            with path.open(encoding="utf-8") as handle:
                text = handle.read(MAX_NOTICE_FILE_BYTES + 1)
    except OSError as exc:
        raise fail_input(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise fail_input(f"{path} is not UTF-8 text (byte {exc.start})") from None
    if len(text) > MAX_NOTICE_FILE_BYTES:
        raise fail_input(f"{path} is larger than {MAX_NOTICE_FILE_BYTES // 1024} KiB")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail_input(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise fail_input(f"{path}: a notice must be a JSON object")
    return data


def valid_notice(notice_file: Path) -> tuple[dict[str, Any], Notice]:
    """The notice file's JSON and the validated notice; exit 2 naming every problem.

    An update, all-clear or cancel is checked against the notices in the database, so a
    reference to an unknown code is an input error here, before anything is planned or sent.
    """
    from service.config import get_settings
    from service.notices.publish import reference_lookup
    from service.store.database import session_scope
    from service.store.migrate import upgrade

    raw = read_json(notice_file)
    try:
        if raw.get("references"):
            upgrade(get_settings().effective_database_url)
            with session_scope() as session:
                return raw, validate_notice(
                    raw, get_library(), references=reference_lookup(session)
                )
        return raw, validate_notice(raw, get_library())
    except NoticeInvalid as exc:
        typer.echo(f"error: {notice_file} is not a valid notice; nothing was sent:", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(EXIT_INVALID_INPUT) from None


def echo_warnings(notice: Notice) -> None:
    """Print the notice's warnings (things to see before sending)."""
    for warning in notice.warnings:
        typer.echo(f"WARNING {warning}")
