"""Audience profiles (audiences/*.toml): a group's register, channels, limits and needs."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from service.notices.schemas import Channel
from service.readability.limits import ReadabilityLimits


class Register(StrEnum):
    """How the text is written."""

    standard = "standard"
    easy_read = "easy_read"


class Role(StrEnum):
    """Whose point of view the text takes: the public, relatives, or staff who must act."""

    public = "public"
    relatives = "relatives"
    staff = "staff"


class PrintSettings(BaseModel):
    """How the printed notice looks for this audience."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    body_font_pt: float = Field(12, ge=9, le=36)
    high_contrast: bool = False
    pictograms: bool = False
    qr_code: bool = True


class Extras(BaseModel):
    """Extra material the audience needs next to the text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sign_language_video: bool = False
    audio: bool = False
    plain_text_email: bool = Field(False, description="screen-reader first: text part leads")
    delivered_by_staff: bool = Field(False, description="printed notice handed over by staff")
    email_pdf: bool = Field(False, description="attach the printable PDF to the e-mail")


class AudienceProfile(BaseModel):
    """One audience: who they are, how to write for them and how to reach them."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str
    name: dict[str, str]
    description: dict[str, str] = Field(default_factory=dict)
    # Called `register` in the TOML; renamed here because BaseModel has a `register` attribute.
    text_register: Register = Field(alias="register")
    role: Role = Role.public
    channels: list[Channel] = Field(min_length=1, description="in priority order")
    languages: list[str] | None = Field(
        None, description="only these languages serve this audience; None: every language"
    )
    fallback_languages: list[str] = Field(default_factory=lambda: ["sv"])
    sms_max_segments: int = Field(3, ge=1, le=10, description="budget for GSM-7 texts")
    # UCS-2 (Arabic, Persian, Tigrinya, Ukrainian, Sami...) fits 67 characters per part instead
    # of 153; the same message needs about twice the parts and must not be cut to fit.
    sms_max_segments_ucs2: int = Field(7, ge=1, le=10, description="budget for UCS-2 texts")
    readability: dict[str, ReadabilityLimits] = Field(
        default_factory=dict, description="limits per language tag; `default` for the rest"
    )
    print: PrintSettings = Field(default_factory=PrintSettings)
    extras: Extras = Field(default_factory=Extras)

    def limits_for(self, lang: str) -> ReadabilityLimits:
        """The readability limits for `lang`, else the profile's default, else none."""
        return self.readability.get(lang) or self.readability.get("default") or ReadabilityLimits()
