"""Which version each recipient gets: language, register, role and channels."""

from __future__ import annotations

from dataclasses import dataclass

from service.audiences.schemas import AudienceProfile, Register, Role
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.recipients.schemas import Recipient
from service.rendering.schemas import VariantKey
from service.variants.plan import variant_key

# Channels a message is sent on, one per person; print and web are published, not sent.
SENT_CHANNELS = (Channel.sms, Channel.email)


@dataclass(frozen=True)
class Assignment:
    """One message to one recipient on one channel, and the variant it carries."""

    recipient: Recipient
    channel: Channel
    address: str
    audience: AudienceProfile
    key: VariantKey


@dataclass(frozen=True)
class Unreachable:
    """A recipient no message can reach, and why (for the follow-up phone list)."""

    recipient: Recipient
    reason: str


def deciding_profile(recipient: Recipient, library: ContentLibrary) -> AudienceProfile:
    """The profile that decides: staff, then relatives, then easy-read, then the first one."""
    profiles = [library.audiences[a] for a in recipient.audiences]
    for role in (Role.staff, Role.relatives):
        for profile in profiles:
            if profile.role == role:
                return profile
    easy = next((p for p in profiles if p.text_register == Register.easy_read), None)
    return easy or profiles[0]


def choose_language(recipient: Recipient, profile: AudienceProfile, notice: Notice) -> str:
    """Their own language if the notice has it, else the profile's fallback chain, else sv."""
    offered = notice.envelope.languages
    for lang in (*recipient.languages, *profile.fallback_languages):
        if lang in offered:
            return lang
    return "sv"


def assign(
    recipient: Recipient, notice: Notice, library: ContentLibrary
) -> tuple[list[Assignment], Unreachable | None]:
    """The messages for one recipient, in the profile's channel order."""
    profile = deciding_profile(recipient, library)
    language = choose_language(recipient, profile, notice)
    addresses = {Channel.sms: recipient.phone, Channel.email: recipient.email}
    result = []
    for channel in profile.channels:
        address = addresses.get(channel)
        if channel in SENT_CHANNELS and channel in notice.envelope.channels and address:
            key = variant_key(profile, language, channel)
            result.append(Assignment(recipient, channel, address, profile, key))
    if result:
        return result, None
    wanted = [c.value for c in profile.channels if c in SENT_CHANNELS]
    reason = (
        f"no {' or '.join(wanted) or 'sendable channel'} among the notice's channels with a "
        "contact detail for it"
    )
    if Channel.print in profile.channels and Channel.print in notice.envelope.channels:
        reason += f"; hand them a printed notice (klarvarsel print-pack --audience {profile.id})"
    return [], Unreachable(recipient, reason)
