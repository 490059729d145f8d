from __future__ import annotations

import json
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from service.channels.models import SentMessage
from service.cli import app
from service.config import get_settings
from service.store.database import get_engine, make_engine
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
    # TODO(issue 7, shipped templates): the Polish standard SMS is one segment over with the
    # real link; drop --allow-failed-checks once the templates pass every check.
    result = runner.invoke(app, ["deliver", notice, "--wait", "--allow-failed-checks"])
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


PEOPLE_CSV = (
    "\ufeffname;phone;email;languages;audiences;areas\n"
    "Anna Andersson;070-123 45 67;;sv;easy-read;skultuna\n"
    "Ahmed Ali;073-987 65 43;ahmed@example.se;ar|sv;other-languages;skultuna\n"
    "Birgitta Berg;;birgitta@example.se;sv;general-public;skultuna\n"
    "Eva Ek;;eva@example.se;sv;visually-impaired;skultuna\n"
    "Erik Ek;070-111 22 33;;sv;general-public;vasteras-centrum\n"
)


@pytest.fixture
def empty_var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private var/ with an empty register."""
    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("KLARVARSEL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_a_small_list_is_imported_and_delivered_as_the_readme_says(
    tmp_path: Path, empty_var_dir: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE_CSV, "utf-8")
    notice = str(SAMPLE_NOTICES / "water_outage_skultuna.json")
    checked = runner.invoke(app, ["recipients", "import", str(people)])
    assert checked.exit_code == 0, checked.output
    imported = runner.invoke(app, ["recipients", "import", str(people), "--confirm"])
    assert imported.exit_code == 0, imported.output
    preview = runner.invoke(app, ["deliver", notice, "--dry-run"])
    assert preview.exit_code == 0, preview.output
    assert "4 messages to 4 recipients" in preview.output
    assert not (empty_var_dir / "outbox").exists()

    result = runner.invoke(app, ["deliver", notice, "--wait"])
    assert result.exit_code == 0, result.output
    assert "progress: sent 4" in result.output and "failed" not in result.output
    sms = [
        json.loads(p.read_text("utf-8")) for p in (empty_var_dir / "outbox" / "sms").glob("*.json")
    ]
    assert sorted((m["to"], m["language"]) for m in sms) == [
        ("+46701234567", "sv"),
        ("+46739876543", "ar"),
    ]  # Erik lives outside the notice's area
    parsed = {
        str(m["To"]): m
        for m in (
            BytesParser(policy=policy.default).parsebytes(p.read_bytes())
            for p in (empty_var_dir / "outbox" / "email").glob("*.eml")
        )
    }
    assert sorted(parsed) == ["birgitta@example.se", "eva@example.se"]
    # Blind and low-vision readers get the large-print notice to print at home; others do not.
    printable = list(parsed["eva@example.se"].iter_attachments())
    assert [(a.get_content_type(), a.get_filename()) for a in printable] == [
        ("application/pdf", "water_outage-sv.pdf")
    ]
    assert printable[0].get_content().startswith(b"%PDF")
    assert list(parsed["birgitta@example.se"].iter_attachments()) == []
    engine = make_engine(f"sqlite:///{empty_var_dir / 'klarvarsel.sqlite3'}")
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(SentMessage)) == 4
    engine.dispose()


def test_the_removed_send_command_says_what_to_run_instead(
    tmp_path: Path, empty_var_dir: Path
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(PEOPLE_CSV, "utf-8")
    notice = str(SAMPLE_NOTICES / "care_home_power_cut.json")
    result = runner.invoke(app, ["send", notice, "--recipients", str(people), "--dry-run"])
    assert result.exit_code == 2
    assert "`klarvarsel send` was removed and nothing was sent" in result.output
    assert "klarvarsel recipients import FILE.csv --confirm" in result.output
    assert "klarvarsel deliver NOTICE.json --wait" in result.output
    assert not empty_var_dir.exists()
    listed = runner.invoke(app, ["--help"]).output
    assert "│ deliver " in listed and "│ send " not in listed  # removed: not offered
