"""Test recipients ("canaries"): addresses the municipality controls, reached by every test.

A canary is a duty phone or a shared mailbox, never a resident: it lives in its own table, not
in the register, so it is never selected for an actual alert, never exported with the register
and never counted as a person. Every exercise and test notice plans one delivery to each active
canary on the canary's channel (with a pseudonymous key `canary:<id>`), so each test proves
each channel end to end; a canary whose channel the notice does not use gets a failed row that
says so, and the report raises it.

This module sits below delivery planning (planning imports it), so it imports no delivery code.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.service import record
from service.content import ContentLibrary
from service.exercises.models import CanaryRecord
from service.notices.schemas import Channel, Mode
from service.notices.service import Notice
from service.notices.text_safety import unsafe_characters
from service.recipients.csv_import import EMAIL_RE, normalise_phone
from service.variants.plan import variant_key

CANARY_PREFIX = "canary:"
CANARY_CHANNELS = (Channel.sms.value, Channel.email.value)
LABEL_MAX_LENGTH = 200
ADDRESS_MAX_LENGTH = 254
CANARY_AUDIENCE = "general-public"  # the version a canary gets when the notice has it


class CanaryInvalid(ValueError):
    """A canary that cannot be stored; `problems` names every one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def canary_key(canary_id: int) -> str:
    """The delivery key of a canary (register keys are hex digests: the two never meet)."""
    return f"{CANARY_PREFIX}{canary_id}"


def canary_id_of(recipient_key: str) -> int | None:
    """The canary id a delivery key belongs to, or None for a person."""
    if not recipient_key.startswith(CANARY_PREFIX):
        return None
    rest = recipient_key.removeprefix(CANARY_PREFIX)
    return int(rest) if rest.isdigit() else None


def _checked(
    channel: str, address: str, label: str, language: str, library: ContentLibrary
) -> tuple[str, list[str]]:
    """The address in its stored form, and every problem with the input."""
    problems = []
    if channel not in CANARY_CHANNELS:
        problems.append(f"channel: {channel!r} is not one of {', '.join(CANARY_CHANNELS)}")
    address = address.strip()
    if not address:
        problems.append("address: is empty")
    elif len(address) > ADDRESS_MAX_LENGTH:
        problems.append(f"address: is longer than {ADDRESS_MAX_LENGTH} characters")
    elif channel == Channel.sms.value:
        try:
            address = normalise_phone(address)
        except ValueError as exc:
            problems.append(f"address: {exc}")
    elif channel == Channel.email.value and not EMAIL_RE.match(address):
        problems.append(f"address: {address!r} is not an e-mail address such as jour@vasteras.se")
    if not label.strip():
        problems.append("label: is empty; say whose phone or mailbox it is (e.g. Jourtelefon)")
    elif len(label) > LABEL_MAX_LENGTH:
        problems.append(f"label: is longer than {LABEL_MAX_LENGTH} characters")
    for where, text in (("address", address), ("label", label)):
        problems += [f"{where}: {p}" for p in unsafe_characters(text)]
    if language not in library.languages:
        problems.append(f"language: unknown language {language!r}")
    return address, problems


def add_canary(
    session: Session,
    library: ContentLibrary,
    *,
    channel: str,
    address: str,
    label: str,
    language: str = "sv",
    actor: str,
) -> CanaryRecord:
    """Store (or re-activate) a canary; CanaryInvalid names every problem."""
    address, problems = _checked(channel, address, label, language, library)
    if problems:
        raise CanaryInvalid(problems)
    existing = session.scalar(
        sa.select(CanaryRecord).where(
            CanaryRecord.channel == channel, CanaryRecord.address == address
        )
    )
    if existing is not None and existing.active:
        raise CanaryInvalid([f"address: is already canary {existing.id} ({existing.label})"])
    canary = existing or CanaryRecord(channel=channel, address=address, created_by=actor)
    canary.label, canary.language, canary.active = label.strip(), language, True
    session.add(canary)
    session.flush()
    record(
        session,
        actor=actor,
        action="canary.added",
        subject_type="canary",
        subject_id=canary.id,
        details={"channel": channel, "label": canary.label},
    )
    return canary


def remove_canary(session: Session, canary_id: int, *, actor: str) -> CanaryRecord | None:
    """Deactivate a canary (kept, so past reports still name it); None if there is none."""
    canary = session.get(CanaryRecord, canary_id)
    if canary is None or not canary.active:
        return None
    canary.active = False
    record(
        session,
        actor=actor,
        action="canary.removed",
        subject_type="canary",
        subject_id=canary.id,
        details={"channel": canary.channel, "label": canary.label},
    )
    return canary


def list_canaries(session: Session, *, include_removed: bool = False) -> list[CanaryRecord]:
    """Canaries by channel and id."""
    query = sa.select(CanaryRecord).order_by(CanaryRecord.channel, CanaryRecord.id)
    if not include_removed:
        query = query.where(CanaryRecord.active.is_(True))
    return list(session.scalars(query))


@dataclass(frozen=True)
class CanaryPlan:
    """One canary's delivery for a notice: the variant it gets, or why it is not sent."""

    canary_id: int
    label: str
    channel: str
    address: str
    language: str
    audience: str
    register: str
    role: str
    problem: str | None = None


def plan_canaries(session: Session, notice: Notice, library: ContentLibrary) -> list[CanaryPlan]:
    """The canary deliveries of an exercise or test notice (none for an actual alert)."""
    envelope = notice.envelope
    if envelope.mode == Mode.actual:
        return []
    audience = CANARY_AUDIENCE if CANARY_AUDIENCE in envelope.audiences else envelope.audiences[0]
    profile = library.audiences[audience]
    plans = []
    for canary in list_canaries(session):
        language = canary.language if canary.language in envelope.languages else "sv"
        channel = Channel(canary.channel)
        key = variant_key(profile, language, channel)
        problem = None
        if channel not in envelope.channels:
            problem = (
                f"canary not sent: the notice does not use the {channel.value} channel, so this "
                "test does not prove it"
            )
        plans.append(
            CanaryPlan(
                canary.id,
                canary.label,
                channel.value,
                canary.address,
                language,
                profile.id,
                key.register.value,
                key.role.value,
                problem,
            )
        )
    return plans
