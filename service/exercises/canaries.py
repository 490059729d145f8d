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
MAX_CANARIES = 100  # active ones: a municipality's own phones and mailboxes, not a register


class CanaryInvalid(ValueError):
    """A canary that cannot be stored; `problems` names every one ("field: what is wrong").

    `codes` holds a short code per problem (in the same order) for pages that say it in the
    reader's language: address_missing, phone_invalid, email_invalid, address_taken, ...
    """

    def __init__(self, problems: list[str], codes: list[str] | None = None) -> None:
        self.problems = problems
        self.codes = codes or ["service"] * len(problems)
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


Problems = list[tuple[str, str]]  # (code, "field: what is wrong")


def _checked(
    channel: str, address: str, label: str, language: str, library: ContentLibrary
) -> tuple[str, Problems]:
    """The address in its stored form, and every problem with the input."""
    problems: Problems = []
    if channel not in CANARY_CHANNELS:
        allowed = ", ".join(CANARY_CHANNELS)
        problems.append(("channel_invalid", f"channel: {channel!r} is not one of {allowed}"))
    address = address.strip()
    if not address:
        problems.append(("address_missing", "address: is empty"))
    elif len(address) > ADDRESS_MAX_LENGTH:
        too_long = f"address: is longer than {ADDRESS_MAX_LENGTH} characters"
        problems.append(("address_too_long", too_long))
    elif channel == Channel.sms.value:
        try:
            address = normalise_phone(address)
        except ValueError as exc:
            problems.append(("phone_invalid", f"address: {exc}"))
    elif channel == Channel.email.value and not EMAIL_RE.match(address):
        bad = f"address: {address!r} is not an e-mail address such as jour@vasteras.se"
        problems.append(("email_invalid", bad))
    if not label.strip():
        empty = "label: is empty; say whose phone or mailbox it is (e.g. Jourtelefon)"
        problems.append(("label_missing", empty))
    elif len(label) > LABEL_MAX_LENGTH:
        problems.append(("label_too_long", f"label: is longer than {LABEL_MAX_LENGTH} characters"))
    for where, text in (("address", address), ("label", label)):
        problems += [("unsafe", f"{where}: {p}") for p in unsafe_characters(text)]
    if language not in library.languages:
        problems.append(("language_unknown", f"language: unknown language {language!r}"))
    return address, problems


def _invalid(problems: Problems) -> CanaryInvalid:
    return CanaryInvalid([text for _code, text in problems], [code for code, _text in problems])


def add_canary(
    session: Session,
    library: ContentLibrary,
    *,
    channel: str,
    address: str,
    label: str,
    language: str = "sv",
    actor: str,
    source: str = "cli",
) -> CanaryRecord:
    """Store (or re-activate) a canary; CanaryInvalid names every problem."""
    address, problems = _checked(channel, address, label, language, library)
    existing = _holder(session, channel, address) if not problems else None
    if existing is not None and existing.active:
        taken = f"address: is already canary {existing.id} ({existing.label})"
        problems.append(("address_taken", taken))
    active = session.scalar(
        sa.select(sa.func.count()).select_from(CanaryRecord).where(CanaryRecord.active.is_(True))
    )
    if (active or 0) >= MAX_CANARIES:
        full = f"address: there are already {MAX_CANARIES} test recipients; remove one first"
        problems.append(("canaries_full", full))
    if problems:
        raise _invalid(problems)
    canary = existing or CanaryRecord(channel=channel, address=address, created_by=actor)
    canary.label, canary.language, canary.active = label.strip(), language, True
    session.add(canary)
    session.flush()
    _audit(session, canary, "canary.added", actor, source)
    return canary


def _holder(session: Session, channel: str, address: str) -> CanaryRecord | None:
    query = sa.select(CanaryRecord).where(
        CanaryRecord.channel == channel, CanaryRecord.address == address
    )
    return session.scalar(query)


def _audit(session: Session, canary: CanaryRecord, action: str, actor: str, source: str) -> None:
    # The label and channel only: the address is personal data and stays out of the log.
    details = {"channel": canary.channel, "label": canary.label}
    record(
        session,
        actor=actor,
        action=action,
        subject_type="canary",
        subject_id=canary.id,
        source=source,
        details=details,
    )


def update_canary(
    session: Session,
    library: ContentLibrary,
    canary: CanaryRecord,
    *,
    address: str,
    label: str,
    language: str,
    actor: str,
    source: str = "cli",
) -> CanaryRecord:
    """Change an active canary's address, label or language (its channel stays)."""
    address, problems = _checked(canary.channel, address, label, language, library)
    holder = _holder(session, canary.channel, address) if not problems else None
    if holder is not None and holder.id != canary.id:
        # The unique (channel, address) holds for removed canaries too: past reports name them.
        state = "" if holder.active else ", removed; add it again instead"
        taken = f"address: is already canary {holder.id} ({holder.label}{state})"
        problems.append(("address_taken", taken))
    if problems:
        raise _invalid(problems)
    canary.address, canary.label, canary.language = address, label.strip(), language
    session.flush()
    _audit(session, canary, "canary.changed", actor, source)
    return canary


def remove_canary(
    session: Session, canary_id: int, *, actor: str, source: str = "cli"
) -> CanaryRecord | None:
    """Deactivate a canary (kept, so past reports still name it); None if there is none."""
    canary = session.get(CanaryRecord, canary_id)
    if canary is None or not canary.active:
        return None
    canary.active = False
    _audit(session, canary, "canary.removed", actor, source)
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
