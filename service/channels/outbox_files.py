"""Outbox files: written so a reader sees all of a message or none; read for the outbox page."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` through a temporary file in the same folder, then rename it into place.

    The file holds phone numbers or e-mail addresses, so only its owner may read it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class OutboxMessage:
    """One message an outbox transport wrote, as a developer page shows it."""

    channel: str
    name: str  # the file's name in its folder
    written: str  # the time in the file name (UTC, sortable)
    to: str
    subject: str
    text: str
    encoding: str  # SMS: GSM-7 or UCS-2; e-mail: the content type
    segments: int = 0  # SMS parts (0 for e-mail)

    @property
    def written_at(self) -> datetime | None:
        """When it was written (UTC), for a page to show in local time; None if unreadable."""
        for pattern in ("%Y%m%dT%H%M%S%fZ", "%Y%m%dT%H%M%SZ"):
            try:
                return datetime.strptime(self.written, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
        try:
            found = datetime.fromisoformat(self.written)
        except ValueError:
            return None
        return found if found.tzinfo else found.replace(tzinfo=UTC)


def _sms(path: Path) -> OutboxMessage:
    data = json.loads(path.read_text("utf-8"))
    return OutboxMessage(
        channel="sms",
        name=path.name,
        written=str(data.get("written_at", "")),
        to=str(data.get("to", "")),
        subject="",
        text=str(data.get("text", "")),
        encoding=str(data.get("encoding", "")),
        segments=int(data.get("segments") or 0),
    )


def _email(path: Path) -> OutboxMessage:
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    body = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    text = body.get_content() if body is not None else ""
    return OutboxMessage(
        channel="email",
        name=path.name,
        written=path.name.split("-", 1)[0],
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        text=str(text),
        encoding=str(message.get("Content-Type", "")).split(";")[0],
    )


def read_outbox(outbox_dir: Path, limit: int = 50) -> tuple[list[OutboxMessage], int]:
    """The newest messages in the outbox folders (SMS and e-mail), and how many there are."""
    files = [(p, _sms) for p in (outbox_dir / "sms").glob("*.json")]
    files += [(p, _email) for p in (outbox_dir / "email").glob("*.eml")]
    # File names start with the time they were written: newest first across both channels.
    files.sort(key=lambda item: item[0].name, reverse=True)
    shown = []
    for path, read in files[:limit]:
        try:
            shown.append(read(path))
        except (OSError, ValueError, LookupError):
            continue  # removed meanwhile, or not ours: the page lists what it can read
    return shown, len(files)
