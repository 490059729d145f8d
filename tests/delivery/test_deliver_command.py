from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app
from service.config import get_settings
from service.store.database import get_engine
from tests.conftest import SAMPLE_NOTICES

runner = CliRunner()


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("KLARVARSEL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    assert runner.invoke(app, ["demo-data"]).exit_code == 0
    yield tmp_path / "var"
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_dry_run_plans_nothing(var_dir: Path) -> None:
    notice = str(SAMPLE_NOTICES / "water_outage_skultuna.json")
    result = runner.invoke(app, ["deliver", notice, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "4 messages to 4 recipients" in result.output
    assert "by language: ar 1, sv 2, ti 1" in result.output
    assert not (var_dir / "outbox").exists()


def test_deliver_and_wait_sends_to_everyone_in_the_area(var_dir: Path) -> None:
    notice = str(SAMPLE_NOTICES / "water_outage_skultuna.json")
    result = runner.invoke(app, ["deliver", notice, "--wait"])
    assert result.exit_code == 0, result.output
    assert "progress: sent 4" in result.output
    sent = [json.loads(p.read_text("utf-8")) for p in (var_dir / "outbox" / "sms").glob("*.json")]
    assert sorted(m["language"] for m in sent) == ["ar", "sv", "sv", "ti"]


def test_exercise_reaches_only_exercise_participants(var_dir: Path) -> None:
    notice = str(SAMPLE_NOTICES / "heat_wave_exercise.json")
    result = runner.invoke(app, ["deliver", notice, "--wait"])
    assert result.exit_code == 0, result.output
    texts = [
        json.loads(p.read_text("utf-8"))["text"]
        for p in (var_dir / "outbox" / "sms").glob("*.json")
    ]
    # Five demo people are in the exercise group; the others must not get an exercise.
    assert texts and all(t.startswith(("ÖVNING", "EXERCISE")) for t in texts)
    assert len(texts) + len(list((var_dir / "outbox" / "email").glob("*.eml"))) <= 5


def test_stop_sending_cancels_what_was_not_sent(var_dir: Path) -> None:
    notice = str(SAMPLE_NOTICES / "water_outage_skultuna.json")
    planned = runner.invoke(app, ["deliver", notice])  # no worker runs: all stay planned
    code = planned.output.split("published as ")[1].split("/n/")[1].split(";")[0]
    result = runner.invoke(app, ["stop-sending", code])
    assert result.exit_code == 0, result.output
    assert f"cancelled 4 deliveries of {code}" in result.output
    waited = runner.invoke(app, ["worker", "--once"])
    assert waited.exit_code == 0
    assert not (var_dir / "outbox").exists()
    assert runner.invoke(app, ["stop-sending", "NOPE99"]).exit_code == 2
