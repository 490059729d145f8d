"""The crisis notice as submitted: the envelope every scenario shares (fields come later)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

# Limits on every part of a notice (documented in the README). A note is read on a phone: a
# thousand characters is two screens; anything longer belongs on a web page.
NOTE_MAX_LENGTH = 1000
CODE_MAX_LENGTH = 64
MAX_LIST_ITEMS = 50
URL_MAX_LENGTH = 500
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()\-]{1,30}$")
EMAIL_RE = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")

Code = Annotated[str, Field(min_length=1, max_length=CODE_MAX_LENGTH)]
Url = Annotated[HttpUrl, Field(max_length=URL_MAX_LENGTH)]


class MessageType(StrEnum):
    """CAP msgType, plus all_clear (sent as CAP Update with the all-clear wording)."""

    alert = "alert"
    update = "update"
    all_clear = "all_clear"
    cancel = "cancel"


class Mode(StrEnum):
    """CAP status: exercise and test notices are marked and reach only exercise recipients."""

    actual = "actual"
    exercise = "exercise"
    test = "test"


class Severity(StrEnum):
    """CAP severity."""

    extreme = "extreme"
    severe = "severe"
    moderate = "moderate"
    minor = "minor"
    unknown = "unknown"


class Urgency(StrEnum):
    """CAP urgency."""

    immediate = "immediate"
    expected = "expected"
    future = "future"
    past = "past"
    unknown = "unknown"


class Certainty(StrEnum):
    """CAP certainty."""

    observed = "observed"
    likely = "likely"
    possible = "possible"
    unlikely = "unlikely"
    unknown = "unknown"


class Channel(StrEnum):
    """The channels a variant can be rendered for."""

    sms = "sms"
    email = "email"
    print = "print"
    web = "web"


class Contact(BaseModel):
    """Where people can get more information; at least one way must be given."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(None, max_length=40, examples=["021-39 00 00"])
    web: Url | None = None
    email: str | None = Field(None, max_length=200)

    @field_validator("phone")
    @classmethod
    def _phone_digits(cls, phone: str | None) -> str | None:
        if phone is not None and not PHONE_RE.match(phone.strip()):
            raise ValueError(
                "is not a phone number: use digits, spaces, +, - and brackets (021-39 00 00)"
            )
        return phone.strip() if phone else phone

    @field_validator("email")
    @classmethod
    def _email_address(cls, email: str | None) -> str | None:
        if email is not None and not EMAIL_RE.match(email.strip()):
            raise ValueError("is not an e-mail address such as kris@vasteras.se")
        return email.strip() if email else email

    @model_validator(mode="after")
    def _one_way_at_least(self) -> Contact:
        if not (self.phone or self.web or self.email):
            raise ValueError("give at least one of phone, web or email")
        return self


class CrisisNoticeIn(BaseModel):
    """One crisis notice as a communicator, an integrator or an exercise schedule submits it."""

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field(min_length=1, max_length=64, examples=["water_outage"])
    message_type: MessageType = MessageType.alert
    references: str | None = Field(
        None,
        max_length=16,
        description="code of the first notice; required for update, all_clear, cancel",
    )
    mode: Mode = Mode.actual
    severity: Severity = Severity.unknown
    urgency: Urgency = Urgency.unknown
    certainty: Certainty = Certainty.unknown
    areas: list[Code] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    fields: dict[str, Any] = Field(default_factory=dict)
    contact: Contact
    audiences: list[Code] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    languages: list[Code] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    channels: list[Channel] = Field(min_length=1, max_length=len(Channel))
    note: dict[Code, Annotated[str, Field(max_length=NOTE_MAX_LENGTH)]] = Field(
        default_factory=dict,
        max_length=MAX_LIST_ITEMS,
        description=f"optional free text per language (BCP 47 tag -> text, at most "
        f"{NOTE_MAX_LENGTH} characters)",
    )
    sign_language_url: Url | None = Field(
        None, description="link to the notice in Swedish Sign Language (teckenspråk)"
    )
    exercise_name: str | None = Field(
        None,
        max_length=200,
        description="the exercise or test this notice belongs to (exercise and test mode only); "
        "named in the CAP <note>",
        examples=["Övning Vattenbrist 2027"],
    )
    sent_at: datetime | None = Field(None, description="defaults to the time of rendering")
    expires_at: datetime | None = None

    @field_validator("areas", "audiences", "languages", "channels")
    @classmethod
    def _no_duplicates(cls, values: list[str]) -> list[str]:
        seen = [v for i, v in enumerate(values) if v in values[:i]]
        if seen:
            raise ValueError(f"listed more than once: {', '.join(sorted(set(seen)))}")
        return values

    @field_validator("note")
    @classmethod
    def _note_not_blank(cls, note: dict[str, str]) -> dict[str, str]:
        return {lang: text.strip() for lang, text in note.items() if text.strip()}

    @model_validator(mode="after")
    def _references_match_type(self) -> CrisisNoticeIn:
        if self.message_type != MessageType.alert and not self.references:
            raise ValueError(
                f"a {self.message_type.value} must give `references`: the code of the first notice"
            )
        if self.message_type == MessageType.alert and self.references:
            raise ValueError("an alert is a first notice and cannot reference another")
        return self

    @model_validator(mode="after")
    def _exercise_name_for_exercises(self) -> CrisisNoticeIn:
        if self.exercise_name is not None and self.mode == Mode.actual:
            raise ValueError("exercise_name is only for exercise and test notices")
        return self

    @field_validator("exercise_name")
    @classmethod
    def _exercise_name_not_blank(cls, name: str | None) -> str | None:
        return name.strip() or None if name is not None else None
