"""Reading a notice out of a CAP alert: what every import shares.

Languages, areas, contact, status and message type are mapped the same way whether the alert
came from Klarvarsel (own.py rebuilds it exactly) or from another sender (external.py chooses
the closest scenario). Every decision a person should check is written down as a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from service.content import ContentLibrary
from service.interop.capmodel import CapAlert, CapInfo
from service.notices.schemas import EMAIL_RE, PHONE_RE

STATUS_MODE = {"Actual": "actual", "Exercise": "exercise", "Test": "test"}
DEFAULT_CHANNELS = ["sms", "email", "web"]
DEFAULT_AUDIENCE = "general-public"
OTHER_LANGUAGES_AUDIENCE = "other-languages"
EXERCISE_NAME_MAX = 200


class CapNotImportable(ValueError):
    """A valid CAP message that cannot become a notice (not public, an Ack, no content...)."""


@dataclass(frozen=True)
class ResolvedReferences:
    """What an Update or Cancel points at here: a published notice, an earlier import, both."""

    code: str | None = None
    import_id: int | None = None
    import_notice: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()


@dataclass
class MappedNotice:
    """A notice made from a CAP alert, the scenario chosen and why, and notes to check."""

    notice: dict[str, Any]
    scenario: str
    reason: str
    notes: list[str] = field(default_factory=list)


def importable(alert: CapAlert) -> None:
    """Refuse what is not a public message: System/Draft status, Ack/Error, restricted scope."""
    if alert.status not in STATUS_MODE:
        raise CapNotImportable(
            f"status {alert.status} is not a message for the public (Actual, Exercise or Test)"
        )
    if alert.msg_type not in ("Alert", "Update", "Cancel"):
        raise CapNotImportable(f"msgType {alert.msg_type} carries no notice")
    if alert.scope != "Public":
        raise CapNotImportable(
            f"scope {alert.scope}: the alert is not for the public and is not imported"
        )


def our_language(cap_tag: str, library: ContentLibrary) -> str | None:
    """Our language tag for a CAP <language> (sv-SE -> sv, fa-AF -> fa-AF, en-US -> en)."""
    wanted = cap_tag.casefold()
    for tag, language in library.languages.items():
        if wanted in (tag.casefold(), language.cap_language.casefold()):
            return tag
    primary = wanted.split("-")[0]
    if primary == "prs" and "fa-AF" in library.languages:
        return "fa-AF"  # ISO 639-3 Dari, which Babel (and so Klarvarsel) calls fa-AF
    return primary if primary in library.languages else None


def infos_by_language(
    alert: CapAlert, library: ContentLibrary, notes: list[str]
) -> list[tuple[str, CapInfo]]:
    """The alert's infos under our language tags, Swedish first; others are noted and left out."""
    found: list[tuple[str, CapInfo]] = []
    for info in alert.infos:
        tag = our_language(info.language, library)
        if tag is None:
            notes.append(f"the <info> in {info.language} was left out: no such language here")
        elif tag not in (t for t, _ in found):
            found.append((tag, info))
    return sorted(found, key=lambda pair: pair[0] != "sv")


def keyword_hits(text: str, keywords: list[str]) -> list[str]:
    """The keywords found in `text` as whole words (`stem*` matches words starting so)."""
    hits = []
    for keyword in keywords:
        stem = keyword.removesuffix("*")
        tail = r"\w*" if keyword.endswith("*") else r"\b"
        if re.search(rf"(?<!\w){re.escape(stem)}{tail}", text, re.IGNORECASE):
            hits.append(stem)
    return hits


def map_areas(infos: list[CapInfo], library: ContentLibrary, notes: list[str]) -> list[str]:
    """Area codes from geocodes (ours or areas.toml's) or names; else the whole municipality."""
    areas = library.areas.areas
    codes: list[str] = []
    for info in infos:
        for area in info.areas:
            matched = [
                code
                for code, known in areas.items()
                if ("klarvarsel-area", code) in area.geocodes
                or any(pair in area.geocodes for pair in known.geocodes)
                or area.description.casefold() in (known.name.casefold(), code)
            ]
            if not matched and area.description:
                name = area.description.casefold()
                matched = [c for c, a in areas.items() if a.name.casefold() in name]
            codes += [c for c in matched if c not in codes]
    if not codes:
        codes = [code for code, area in areas.items() if area.parent is None][:1]
        described = "; ".join(a.description for i in infos for a in i.areas)[:200]
        notes.append(
            f"no area of the alert ({described or 'none given'}) is in areas.toml: the draft "
            f"targets {', '.join(codes)}; check the area before sending"
        )
    return codes


def parse_contact(info: CapInfo) -> dict[str, str]:
    """Phone, e-mail and web address from <contact> (`a; b; c`) and <web>."""
    contact: dict[str, str] = {}
    for part in re.split(r"[;\n]", info.contact or ""):
        part = part.strip()
        if part.startswith(("http://", "https://")):
            contact.setdefault("web", part)
        elif EMAIL_RE.match(part):
            contact.setdefault("email", part)
        elif PHONE_RE.match(part):
            contact.setdefault("phone", part)
    if "web" not in contact and info.web:
        contact["web"] = info.web
    return contact


def message_type(alert: CapAlert) -> str:
    """alert, update, all_clear (an Update whose every info says AllClear) or cancel."""
    if alert.msg_type == "Cancel":
        return "cancel"
    if alert.msg_type == "Update":
        every = alert.infos and all("AllClear" in i.response_types for i in alert.infos)
        return "all_clear" if every else "update"
    return "alert"


def envelope(
    alert: CapAlert, first: CapInfo | None, resolved: ResolvedReferences
) -> dict[str, Any]:
    """The notice fields every mapping shares: type, reference, mode, CAP values, times."""
    notice: dict[str, Any] = {
        "message_type": message_type(alert),
        "mode": STATUS_MODE[alert.status],
    }
    if resolved.code and notice["message_type"] != "alert":
        notice["references"] = resolved.code
    if first is not None:
        notice["severity"] = first.severity.lower()
        notice["urgency"] = first.urgency.lower()
        notice["certainty"] = first.certainty.lower()
        if first.expires:
            notice["expires_at"] = first.expires
    notice["sent_at"] = alert.sent
    return notice


def default_audiences(languages: list[str]) -> list[str]:
    """Everyone, and speakers of other languages when the alert has them."""
    others = [t for t in languages if t != "sv"]
    return [DEFAULT_AUDIENCE] + ([OTHER_LANGUAGES_AUDIENCE] if others else [])
