"""Checking a rendered variant against its audience: readability, SMS limits, translation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.audiences.schemas import AudienceProfile
from service.channels.base import SMS
from service.channels.sms.encoding import SmsAnalysis, analyse_sms
from service.notices.schemas import Channel
from service.readability.models import ReadabilityReport
from service.readability.service import check_text
from service.rendering.languages import ReviewStatus
from service.rendering.schemas import RenderedVariant
from service.variants.free_text import CommunicatorTextCheck


@dataclass(frozen=True)
class CheckFinding:
    """One finding of any check; errors fail the variant, warnings inform."""

    check: str  # readability, sms or translation
    severity: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "check": self.check,
            "severity": self.severity,
            "message": self.message,
            **self.details,
        }


@dataclass(frozen=True)
class VariantCheck:
    """The outcome of checking one variant for one audience."""

    audience: AudienceProfile
    variant: RenderedVariant
    readability: ReadabilityReport
    sms: SmsAnalysis | None
    findings: list[CheckFinding]
    # The communicator's own text in this variant, checked like ours (never fails the variant).
    communicator_text: list[CommunicatorTextCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No finding is an error."""
        return not any(f.severity == "error" for f in self.findings)


def _sms_findings(analysis: SmsAnalysis, budget: int) -> list[CheckFinding]:
    findings = []
    if analysis.segments > budget:
        findings.append(
            CheckFinding(
                "sms",
                "error",
                f"the SMS needs {analysis.segments} segments ({analysis.encoding}, "
                f"{analysis.units} units); the audience allows {budget}, so it is "
                f"{analysis.segments - budget} over",
                {"segments": analysis.segments, "limit": budget},
            )
        )
    if analysis.over_max_segments:
        findings.append(
            CheckFinding(
                "sms",
                "error",
                f"the SMS needs {analysis.segments} segments; providers accept at most "
                f"{SMS.max_segments}",
            )
        )
    if analysis.encoding == "UCS-2" and analysis.non_gsm_characters:
        shown = " ".join(analysis.non_gsm_characters[:12])
        findings.append(
            CheckFinding(
                "sms",
                "warning",
                f"sent as UCS-2 ({analysis.per_segment_limit} characters per segment) because of: "
                f"{shown}",
            )
        )
    return findings


def _translation_findings(variant: RenderedVariant) -> list[CheckFinding]:
    usage = variant.translation
    findings = []
    if usage.blocking_user_text:
        fields = ", ".join(usage.blocking_user_text)
        findings.append(
            CheckFinding(
                "translation",
                "error",
                f"the communicator's text ({fields}) has no {usage.language} version; it needs a "
                "human translation before this variant can be sent",
            )
        )
    if usage.missing or usage.fuzzy:
        findings.append(
            CheckFinding(
                "translation",
                "error",
                f"{len(usage.missing)} missing and {len(usage.fuzzy)} fuzzy messages in the "
                f"{usage.language} catalog; English is shown in their place",
                {"missing": usage.missing, "fuzzy": usage.fuzzy},
            )
        )
    if usage.untranslated_user_text:
        fields = ", ".join(usage.untranslated_user_text)
        findings.append(
            CheckFinding(
                "translation",
                "warning",
                f"the communicator's {fields} has no {usage.language} version; the Swedish text is "
                "shown, marked as Swedish",
            )
        )
    if usage.review_status == ReviewStatus.draft:
        findings.append(
            CheckFinding(
                "translation",
                "warning",
                f"the {usage.language} catalog is a draft, not yet reviewed by a translator",
            )
        )
    return findings


def _communicator_findings(checks: list[CommunicatorTextCheck]) -> list[CheckFinding]:
    """The communicator's text: its readability findings and what needs translation."""
    findings = []
    for check in checks:
        piece = check.piece
        where = {"concerns": "communicator_text", "field": piece.field}
        if piece.needs_translation:
            findings.append(
                CheckFinding(
                    "communicator_text",
                    "warning",
                    f"the communicator's {piece.field} is in Swedish here, marked as Swedish: "
                    "it needs translation",
                    {**where, "needs_translation": True},
                )
            )
        for f in check.readability.findings:
            if f.kind == "limit_not_applicable":
                continue
            details = {k: v for k, v in f.to_dict().items() if k not in ("severity", "message")}
            findings.append(
                CheckFinding(
                    "communicator_text",
                    "warning",
                    f"the communicator's {piece.field} ({piece.language}): {f.message}",
                    {**where, **details, "audience_severity": f.severity},
                )
            )
    return findings


def check_variant(
    variant: RenderedVariant,
    audience: AudienceProfile,
    readability: ReadabilityReport,
    communicator_text: list[CommunicatorTextCheck] | None = None,
) -> VariantCheck:
    """All checks of one variant for one audience (readability computed by the caller)."""
    findings = [
        CheckFinding("readability", f.severity, f.message, f.to_dict())
        for f in readability.findings
    ]
    sms = None
    if variant.key.channel == Channel.sms:
        sms = analyse_sms(variant.text)
        budget = audience.sms_max_segments
        if sms.encoding == "UCS-2":
            budget = audience.sms_max_segments_ucs2
        findings += _sms_findings(sms, budget)
    findings += _translation_findings(variant)
    pieces = communicator_text or []
    findings += _communicator_findings(pieces)
    return VariantCheck(audience, variant, readability, sms, findings, pieces)


def check_readability(variant: RenderedVariant, audience: AudienceProfile) -> ReadabilityReport:
    """Readability of a variant's text against the audience's limits for its language."""
    return check_text(variant.text, variant.key.language, audience.limits_for(variant.key.language))
