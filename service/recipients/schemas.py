"""A recipient as the register knows them: contact details, languages, audiences."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Recipient:
    """A person or function to reach; phone in E.164, languages in preference order."""

    name: str
    phone: str | None = None
    email: str | None = None
    languages: tuple[str, ...] = ("sv",)
    audiences: tuple[str, ...] = ("general-public",)
    external_id: str = ""
    groups: tuple[str, ...] = field(default=())
