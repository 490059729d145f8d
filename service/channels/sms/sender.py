"""Who an SMS comes from: an alphanumeric sender ID, an E.164 number or a Messaging Service.

Checked when the transport is built, so a wrong setting stops the service at start-up with a
message that says what to change, instead of failing every message of an alert one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

SenderKind = Literal["alphanumeric", "number", "messaging_service"]

# Twilio (and the operators behind it) accept ASCII letters, digits and spaces only: å, ä and ö
# are refused, so "Västerås" must be written "Vasteras".
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9 ]{1,11}")
_HAS_LETTER = re.compile(r"[A-Za-z]")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_MESSAGING_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


class InvalidSender(ValueError):
    """The configured sender cannot be used; the message says what a valid one looks like."""


@dataclass(frozen=True)
class SmsSender:
    """A validated sender and how it goes to Twilio (From or MessagingServiceSid).

    An alphanumeric sender ID ("VasterasSt") shows a name on the phone, but recipients cannot
    reply to it; use an E.164 number or a Messaging Service whose pool has numbers when replies
    (questions, "I am safe") must reach the municipality.
    """

    kind: SenderKind
    value: str

    @property
    def can_receive_replies(self) -> bool:
        """Whether a recipient can answer the message (never for alphanumeric sender IDs)."""
        return self.kind != "alphanumeric"

    def twilio_arguments(self) -> dict[str, str]:
        """Keyword arguments for `messages.create_async`: `from_` or `messaging_service_sid`."""
        if self.kind == "messaging_service":
            return {"messaging_service_sid": self.value}
        return {"from_": self.value}


def parse_sender(value: str) -> SmsSender:
    """Validate one sender setting; raises InvalidSender with what a valid value looks like."""
    if _MESSAGING_SERVICE_SID.fullmatch(value):
        return SmsSender("messaging_service", value)
    if value.startswith("+"):
        if _E164.fullmatch(value):
            return SmsSender("number", value)
        raise InvalidSender(
            f"SMS sender {value!r} is not an E.164 number: write '+', the country code and "
            "the number, digits only, 8 to 16 characters in all (e.g. +46701234567)"
        )
    if value.startswith("MG"):
        raise InvalidSender(
            f"SMS sender {value!r} looks like a Messaging Service SID but is not 'MG' followed "
            "by 32 hexadecimal digits"
        )
    if not _ALPHANUMERIC.fullmatch(value):
        raise InvalidSender(
            f"SMS sender {value!r} is not a valid alphanumeric sender ID: use 1 to 11 "
            "characters, only A-Z, a-z, 0-9 and spaces (no å, ä, ö or punctuation)"
        )
    if not _HAS_LETTER.search(value):
        raise InvalidSender(
            f"SMS sender {value!r} is not a valid alphanumeric sender ID: it needs at least one "
            "letter (a phone number must be written in E.164 form, e.g. +46701234567)"
        )
    return SmsSender("alphanumeric", value)


def senders_from_settings(from_: str, messaging_service_sid: str) -> tuple[SmsSender, ...]:
    """The senders to use: a Messaging Service, a From, or both (From picks from the pool)."""
    senders: list[SmsSender] = []
    if messaging_service_sid:
        service = parse_sender(messaging_service_sid)
        if service.kind != "messaging_service":
            raise InvalidSender(
                f"twilio_messaging_service_sid {messaging_service_sid!r} is not 'MG' followed "
                "by 32 hexadecimal digits"
            )
        senders.append(service)
    if from_:
        senders.append(parse_sender(from_))
    if not senders:
        raise InvalidSender(
            "no SMS sender configured: set KLARVARSEL_TWILIO_FROM (alphanumeric sender ID or "
            "E.164 number) or KLARVARSEL_TWILIO_MESSAGING_SERVICE_SID"
        )
    kinds = [s.kind for s in senders]
    if kinds.count("messaging_service") > 1:
        raise InvalidSender("give the Messaging Service SID once, not also as twilio_from")
    return tuple(senders)
