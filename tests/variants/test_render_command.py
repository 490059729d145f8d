from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app
from tests.conftest import ROOT, SAMPLE_NOTICES, load_json

runner = CliRunner()


def render(notice: dict[str, Any] | Path, out: Path) -> tuple[int, str, dict[str, Any] | None]:
    path = notice if isinstance(notice, Path) else out.parent / "notice.json"
    if not isinstance(notice, Path):
        path.write_text(json.dumps(notice), "utf-8")
    result = runner.invoke(app, ["render", str(path), "--out", str(out)])
    report_path = out / "report.json"
    report = load_json(report_path) if report_path.exists() else None
    return result.exit_code, result.output, report


@pytest.mark.parametrize("sample", sorted(SAMPLE_NOTICES.glob("*.json")), ids=lambda p: p.stem)
def test_every_shared_sample_renders_and_every_failure_says_why(
    sample: Path, tmp_path: Path
) -> None:
    code, output, report = render(sample, tmp_path / "out")
    assert report is not None, output
    assert code == (0 if report["passed"] else 1)
    for row in report["variants"]:
        for relative in row["paths"]:
            assert (tmp_path / "out" / relative).read_text("utf-8").strip()
        if not row["passed"]:
            assert any(f["severity"] == "error" and f["message"] for f in row["findings"]), row
        for key in (
            "scenario",
            "audience",
            "register",
            "language",
            "channel",
            "readability",
            "translation",
            "findings",
        ):
            assert key in row
        assert "metrics" in row["readability"] and "limits" in row["readability"]
        if row["channel"] == "sms":
            assert row["sms"]["encoding"] in ("GSM-7", "UCS-2") and row["sms"]["segments"] >= 1


def test_every_swedish_easy_read_variant_passes_its_limits(tmp_path: Path) -> None:
    samples = sorted(SAMPLE_NOTICES.glob("*.json")) + sorted(
        (ROOT / "message_templates").glob("*/example.json")
    )
    failures = []
    for index, sample in enumerate(samples):
        notice = load_json(sample)
        notice["audiences"] = ["easy-read"]
        notice["languages"] = ["sv"]
        notice["note"] = {}
        _code, output, report = render(notice, tmp_path / f"out{index}")
        assert report is not None, output
        failures += [
            (sample.parent.name, row["channel"], row["findings"])
            for row in report["variants"]
            if not row["passed"]
        ]
    assert failures == []


def test_a_passing_notice_exits_zero(tmp_path: Path) -> None:
    notice = load_json(ROOT / "message_templates" / "water_outage" / "example.json")
    notice.update(languages=["sv"], audiences=["general-public", "easy-read"], note={})
    code, output, report = render(notice, tmp_path / "out")
    assert (code, report and report["passed"]) == (0, True), output
    assert (tmp_path / "out" / "sv" / "easy_read.sms.txt").exists()
    assert (tmp_path / "out" / "sv" / "standard.email.html").exists()
    assert (tmp_path / "out" / "sv" / "standard.email.txt").exists()
    assert (tmp_path / "out" / "sv" / "standard.print-12pt.html").exists()


def test_a_failing_variant_exits_one_and_says_by_how_much(tmp_path: Path) -> None:
    notice = load_json(ROOT / "message_templates" / "general" / "example.json")
    notice["fields"]["message"]["sv"] = (
        "Med anledning av den uppkomna situationen avseende framkomligheten på bron över Svartån "
        "vid Kungsgatan, vilken till följd av en trafikolycka i morse tillfälligtvis har "
        "stängts av för samtliga fordon, uppmanas trafikanter att i möjligaste mån nyttja "
        "alternativa färdvägar, exempelvis Slottsbron, fram till dess att vidare besked lämnas."
    )
    notice.update(languages=["sv"], audiences=["easy-read"], channels=["web"])
    code, output, report = render(notice, tmp_path / "out")
    assert code == 1
    assert report is not None
    messages = [f["message"] for f in report["variants"][0]["findings"]]
    assert any(m.startswith("LIX") and "over the audience limit 35 by" in m for m in messages)
    assert "FAIL easy-read sv easy_read.web" in output


def test_invalid_notice_exits_two_naming_the_problem(tmp_path: Path) -> None:
    notice = load_json(ROOT / "message_templates" / "water_outage" / "example.json")
    notice["fields"]["expected_end"] = "2026-11-23T08:00:00+01:00"
    code, output, report = render(notice, tmp_path / "out")
    assert code == 2 and report is None
    assert "fields.expected_end: is before starts_at; it must come after it" in output


def test_unreadable_json_exits_two(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"scenario": "water_outage",', "utf-8")
    code, output, _ = render(path, tmp_path / "out")
    assert code == 2
    assert "not valid JSON at line 1" in output


def test_check_command_reads_stdin_and_prints_metrics() -> None:
    result = runner.invoke(
        app,
        ["check", "--lang", "sv", "--audience", "easy-read", "--sms", "-"],
        input="Vattnet är avstängt. Ring 112 om någon är i fara.",
    )
    assert result.exit_code == 0, result.output
    assert "sentences                2" in result.output
    assert "sms: GSM-7, 1 segments (budget 3)" in result.output


def test_check_command_fails_a_bureaucratic_text_for_easy_read() -> None:
    text = (
        "Med anledning av rådande omständigheter uppmanas samtliga boende att omgående "
        "tillse att erforderliga mängder dricksvatten finns tillgängliga i hushållet."
    )
    result = runner.invoke(
        app, ["check", "--lang", "sv", "--audience", "easy-read", "--json", "-"], input=text
    )
    assert result.exit_code == 1
    report = json.loads(result.output)
    kinds = {f["kind"] for f in report["findings"]}
    assert {"limit_exceeded", "plain_word"} <= kinds


def test_check_command_refuses_an_unknown_audience() -> None:
    result = runner.invoke(app, ["check", "--audience", "martians", "-"], input="Hej.")
    assert result.exit_code == 2
    assert "unknown audience 'martians'" in result.output
