"""One notice to every checked variant: plan, render (each variant once), check, report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.content import ContentLibrary
from service.notices.links import variant_url
from service.notices.service import Notice
from service.readability.models import ReadabilityReport
from service.rendering.schemas import RenderedVariant, VariantKey
from service.rendering.service import render_variant
from service.variants.checks import VariantCheck, check_readability, check_variant
from service.variants.free_text import CommunicatorText, check_pieces, shown_pieces
from service.variants.plan import plan_variants


@dataclass(frozen=True)
class NoticeReport:
    """Every variant of a notice and every audience's check of it."""

    notice: Notice
    variants: dict[VariantKey, RenderedVariant]
    checks: list[VariantCheck]

    @property
    def passed(self) -> bool:
        """Every check passed."""
        return all(c.passed for c in self.checks)


def render_notice(
    notice: Notice, library: ContentLibrary, *, public_url: str | None = None
) -> NoticeReport:
    """Render each needed variant once and check it for every audience that gets it.

    `public_url` is the notice's public page (known before publishing: notices.publish derives
    the code from the content), so the texts checked are exactly the texts sent, link included.
    """
    variants: dict[VariantKey, RenderedVariant] = {}
    readability: dict[tuple[VariantKey, str], ReadabilityReport] = {}
    pieces: dict[VariantKey, list[CommunicatorText]] = {}
    free_text: dict[tuple[str, str, str], ReadabilityReport] = {}
    checks = []
    for row in plan_variants(notice, library):
        if row.key not in variants:
            url = variant_url(public_url, row.key)
            variants[row.key] = render_variant(notice, row.key, library, public_url=url)
            pieces[row.key] = shown_pieces(notice, variants[row.key])
        variant = variants[row.key]
        limits = row.audience.limits_for(row.key.language).model_dump_json()
        if (row.key, limits) not in readability:
            readability[row.key, limits] = check_readability(variant, row.audience)
        communicator = check_pieces(pieces[row.key], row.audience, free_text)
        checks.append(
            check_variant(variant, row.audience, readability[row.key, limits], communicator)
        )
    return NoticeReport(notice, variants, checks)


def variant_files(variant: RenderedVariant) -> dict[str, str]:
    """The files a variant is written as, by relative path."""
    stem = f"{variant.key.language}/{variant.key.name}"
    if variant.html is None:
        return {f"{stem}.txt": variant.text}
    files = {f"{stem}.html": variant.html}
    if variant.key.channel.value == "email":
        files[f"{stem}.txt"] = variant.text
    return files


def _row(check: VariantCheck, notice: Notice) -> dict[str, Any]:
    key = check.variant.key
    return {
        "scenario": notice.scenario.id,
        "audience": check.audience.id,
        "register": key.register.value,
        "role": key.role.value,
        "language": key.language,
        "channel": key.channel.value,
        "paths": sorted(variant_files(check.variant)),
        "subject": check.variant.subject,
        "readability": check.readability.to_dict(),
        "sms": check.sms.to_dict() if check.sms else None,
        "translation": check.variant.translation.to_dict(),
        "passed": check.passed,
        "findings": [f.to_dict() for f in check.findings],
        "communicator_text": [c.to_dict() for c in check.communicator_text],
    }


def report_dict(report: NoticeReport) -> dict[str, Any]:
    """report.json: a summary and one row per audience, language and channel."""
    envelope = report.notice.envelope
    failed = [c for c in report.checks if not c.passed]
    # Communicator text shown in Swedish in another language's variant, by language and field.
    untranslated = {
        (c.variant.key.language, p.piece.field)
        for c in report.checks
        for p in c.communicator_text
        if p.piece.needs_translation
    }
    return {
        "scenario": report.notice.scenario.id,
        "message_type": envelope.message_type.value,
        "mode": envelope.mode.value,
        "passed": report.passed,
        "summary": {
            "variants": len(report.variants),
            "checks": len(report.checks),
            "failed": len(failed),
            "needs_translation": len(untranslated),
        },
        "needs_translation": [
            {"language": lang, "field": name} for lang, name in sorted(untranslated)
        ],
        "variants": [_row(c, report.notice) for c in report.checks],
    }


def write_report(report: NoticeReport, out_dir: Path) -> Path:
    """Write every variant's files and report.json under `out_dir`; returns report.json."""
    for variant in report.variants.values():
        for relative, content in variant_files(variant).items():
            path = out_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content if content.endswith("\n") else content + "\n", "utf-8")
    report_path = out_dir / "report.json"
    report_path.write_text(
        json.dumps(report_dict(report), ensure_ascii=False, indent=2, default=str) + "\n", "utf-8"
    )
    return report_path
