"""Every shipped template passes every check, in every combination a communicator can send.

A communicator cannot edit templates at 3 a.m., so the wording must already fit. For every
scenario's example.json this renders, as alert, update, all_clear and cancel, in actual and
exercise mode, every audience profile in every language that has a catalog, on every channel,
and requires every check (readability, SMS size, translation) to pass. Each notice is rendered
by `render_notice`, which renders each variant once and checks it for every audience.

Times: before the event starts (the suite's clock, future tense), during it, and for updates
and all-clears also after its expected end (the end is then unknown to the templates).
Scenarios without dates are rendered once.

Link: SMS texts end with the notice's public link, "More: <host>/n/CODE?lang=..&easy=1", so
they are checked with a realistic production link. The SMS budgets in audiences/*.toml assume
a public base URL no longer than PUBLIC_BASE (a 16-character host, shown without https://); a
municipality with a longer host sets its own here and runs this test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.content import ContentLibrary, get_library
from service.notices.scenarios import FieldType
from service.notices.schemas import Channel, MessageType, Mode
from service.notices.service import Notice, validate_notice
from service.rendering.catalogs import load_catalog
from service.variants.checks import VariantCheck
from service.variants.service import render_notice
from tests.conftest import ROOT, SAMPLE_NOTICES, TEST_NOW, load_json

PUBLIC_BASE = "https://kris.vasteras.se"
PUBLIC_URL = f"{PUBLIC_BASE}/n/K7M3PX"  # codes are 6 characters (notices.publish)
REFERENCE = "ABC234"  # any code: validation without a store does not look it up
MESSAGE_TYPES = [t.value for t in MessageType]
MODES = [Mode.actual.value, Mode.exercise.value]
EXAMPLES = sorted((ROOT / "message_templates").glob("*/example.json"))
# A sentence ending in a date that ends in a period (Finnish "sunnuntaina 18.7.") must not get a
# second one; an ellipsis is fine.
DOUBLED_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def _catalog_languages(library: ContentLibrary) -> list[str]:
    """English and every language with a message catalog (those without one fail by design)."""
    return [
        tag
        for tag in library.languages
        if tag == "en" or load_catalog(library.locales_dir, tag).exists
    ]


def _as_time(value: date | datetime, library: ContentLibrary, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value
    day = value + timedelta(days=1) if end else value  # a date covers the whole day
    return datetime.combine(day, time(0), library.timezone)


def _moments(raw: dict[str, Any], library: ContentLibrary) -> dict[str, datetime]:
    """When to send: before, during and after the example's event."""
    notice = validate_notice(raw, library, now=TEST_NOW)
    dated = [
        f
        for f in notice.scenario.fields
        if f.type in (FieldType.datetime, FieldType.date) and f.name in notice.fields
    ]
    start = next((f for f in dated if not f.after), None)
    if start is None:
        return {"undated": TEST_NOW}
    begins = _as_time(notice.fields[start.name], library, end=False)
    assert begins > TEST_NOW, f"{notice.scenario.id}: the example must start after {TEST_NOW}"
    end = next((f for f in dated if f.after), None)
    if end is None:  # a deadline (evacuation): "during" is after it, when people must go now
        return {"before": TEST_NOW, "during": begins + timedelta(minutes=30)}
    ends = _as_time(notice.fields[end.name], library, end=True)
    return {
        "before": TEST_NOW,
        "during": begins + (ends - begins) / 2,
        "after": ends + timedelta(hours=1),
    }


@dataclass(frozen=True)
class Run:
    """One notice of the matrix: an example sent as one message type, in one mode, at one time."""

    scenario: str
    message_type: str
    mode: str
    moment: str

    def describe(self, check: VariantCheck) -> str:
        key = check.variant.key
        errors = "; ".join(f.message for f in check.findings if f.severity == "error")
        return (
            f"{self.scenario} {self.message_type} {self.mode} {self.moment}: "
            f"{check.audience.id} {key.language} {key.name}: {errors}"
        )


def _matrix_notice(
    raw: dict[str, Any], library: ContentLibrary, message_type: str, mode: str
) -> dict[str, Any]:
    languages = _catalog_languages(library)
    missing = [
        f"{name} has no {tag!r} text"
        for name, spec in ((s.name, s) for s in library.scenarios[raw["scenario"]].fields)
        if spec.type == FieldType.translated_text and name in raw["fields"]
        for tag in languages
        if tag not in raw["fields"][name]
    ]
    assert not missing, (
        f"{raw['scenario']}/example.json: {', '.join(missing)}; the example carries every "
        "language so that the scenario's templates are checked in each"
    )
    notice = dict(
        raw,
        message_type=message_type,
        mode=mode,
        audiences=list(library.audiences),
        languages=languages,
        channels=[c.value for c in Channel],
    )
    if message_type != MessageType.alert.value:
        notice["references"] = REFERENCE
    return notice


def _cases() -> list[tuple[str, str]]:
    library = get_library()
    return [
        (path.parent.name, moment)
        for path in EXAMPLES
        for moment in _moments(load_json(path), library)
    ]


@pytest.mark.parametrize(("scenario", "moment"), _cases())
def test_every_shipped_template_passes_every_check(
    scenario: str, moment: str, library: ContentLibrary
) -> None:
    raw = load_json(ROOT / "message_templates" / scenario / "example.json")
    at = _moments(raw, library)[moment]
    types = MESSAGE_TYPES if moment != "after" else ["update", "all_clear"]
    failures: list[str] = []
    checks = 0
    for message_type in types:
        for mode in MODES:
            run = Run(scenario, message_type, mode, moment)
            notice: Notice = validate_notice(
                _matrix_notice(raw, library, message_type, mode), library, now=at
            )
            report = render_notice(notice, library, public_url=PUBLIC_URL)
            checks += len(report.checks)
            failures += [run.describe(c) for c in report.checks if not c.passed]
            failures += [
                f"{scenario} {message_type} {mode} {moment}: {key.language} {key.name}: "
                f"doubled full stop in {line!r}"
                for key, variant in report.variants.items()
                for line in [variant.subject, *variant.text.splitlines()]
                if DOUBLED_STOP.search(line)
            ]
    assert checks > 0
    assert failures == [], f"{len(failures)} of {checks} checks failed:\n" + "\n".join(failures)


runner = CliRunner()


@pytest.mark.parametrize(
    "path",
    EXAMPLES + sorted(SAMPLE_NOTICES.glob("*.json")),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_every_example_and_sample_renders_with_exit_zero(path: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
