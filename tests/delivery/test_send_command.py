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
from service.notices.models import NoticeRecord
from service.store.database import get_engine, make_engine
from tests.conftest import SAMPLE_NOTICES

runner = CliRunner()
RECIPIENTS = (
    "\ufeffname;phone;email;languages;audiences\n"
    "Anna Andersson;070-123 45 67;;sv;easy-read\n"
    "Ahmed Ali;073-987 65 43;ahmed@example.se;ar|sv;general-public\n"
    "Birgitta Berg;;birgitta@example.se;sv;relatives\n"
    "Dana Dahl;;dana@example.se;sv;older-people-living-alone\n"
    "Eva Ek;;eva@example.se;sv;visually-impaired\n"
)


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private var/ (SQLite and outbox) for the command, as `make run` would use."""
    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("KLARVARSEL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()
    get_engine.cache_clear()


def send(tmp_path: Path, *extra: str) -> tuple[int, str]:
    recipients = tmp_path / "recipients.csv"
    recipients.write_text(RECIPIENTS, "utf-8")
    notice = str(SAMPLE_NOTICES / "care_home_power_cut.json")
    result = runner.invoke(app, ["send", notice, "--recipients", str(recipients), *extra])
    return result.exit_code, result.output


def test_dry_run_shows_counts_segments_cost_and_unreachable_and_sends_nothing(
    tmp_path: Path, var_dir: Path
) -> None:
    code, output = send(tmp_path, "--dry-run")
    assert code == 0, output
    assert "5 messages to 4 recipients:" in output
    assert "  sms    ar          1" in output
    assert "SMS segments: " in output and "SEK" in output
    assert "UNREACHABLE Dana Dahl" in output
    assert "dry run: nothing was sent" in output
    assert not (var_dir / "outbox").exists()


def test_send_publishes_the_notice_and_writes_every_message_to_the_outbox(
    tmp_path: Path, var_dir: Path
) -> None:
    code, output = send(tmp_path, "--actor", "kommunikator@vasteras.se")
    assert code == 0, output
    assert "sent 5, failed 0, unreachable 1" in output
    sms = [json.loads(p.read_text("utf-8")) for p in (var_dir / "outbox" / "sms").glob("*.json")]
    emails = list((var_dir / "outbox" / "email").glob("*.eml"))
    assert sorted(m["language"] for m in sms) == ["ar", "sv"]
    assert len(emails) == 3
    parsed = {
        str(m["To"]): m
        for m in (BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in emails)
    }
    large_print = list(parsed["eva@example.se"].iter_attachments())
    assert [(a.get_content_type(), a.get_filename()) for a in large_print] == [
        ("application/pdf", "care_home_disruption-sv.pdf")
    ]
    assert large_print[0].get_content().startswith(b"%PDF")
    assert list(parsed["birgitta@example.se"].iter_attachments()) == []
    engine = make_engine(f"sqlite:///{var_dir / 'klarvarsel.sqlite3'}")
    with engine.connect() as conn:
        notice_code = conn.scalar(sa.select(NoticeRecord.code))
        assert conn.scalar(sa.select(sa.func.count()).select_from(SentMessage)) == 5
    engine.dispose()
    assert notice_code is not None
    assert all(f"/n/{notice_code}" in m["text"] for m in sms)


def test_a_bad_recipient_row_means_nothing_is_sent(tmp_path: Path, var_dir: Path) -> None:
    recipients = tmp_path / "bad.csv"
    recipients.write_text("name;phone\nAnna;070-123 45 67\nBo;12\n", "utf-8")
    result = runner.invoke(
        app,
        [
            "send",
            str(SAMPLE_NOTICES / "care_home_power_cut.json"),
            "--recipients",
            str(recipients),
        ],
    )
    assert result.exit_code == 2
    assert "line 3: phone '12' is not a valid number" in result.output
    assert "nothing was sent" in result.output
    assert not (var_dir / "outbox").exists()
