"""An e-mail's PDF is rendered beside dispatch, once per variant, never while claiming.

A claim holds SMS and e-mails together; rendering the e-mails' printable notice (WeasyPrint,
seconds) inside the claim made every SMS of the batch wait for it. Here the PDF render is
slowed down on purpose and every SMS must have reached the local Twilio server before it ends.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.channels.base import Attachment, OutgoingMessage
from service.channels.print import pdf
from service.delivery.dispatch import Outcome
from service.delivery.messages import Job, MessageBuilder, PdfWanted
from service.delivery.models import Delivery
from service.delivery.pdf_attachments import PdfAttacher
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.delivery.test_worker import drain, fake_settings, phone, seed, statuses
from tests.fakes.twilio_server import FakeTwilio

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter).*:DeprecationWarning"
)
PEOPLE = 30
SLOW_RENDER_SECONDS = 1.5


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_sms_leave_while_the_emails_pdf_is_rendered_once_outside_the_claim(
    engine: Engine, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Large print by e-mail for visually impaired readers; every other person gets an SMS.
    notice_id = seed(engine, PEOPLE, audience="visually-impaired", deliveries=False)
    with session_scope(engine) as session:
        session.execute(
            sa.insert(Delivery),
            [
                {
                    "notice_id": notice_id,
                    "recipient_id": i,
                    "recipient_key": f"key-{i}",
                    "channel": "email" if i % 2 else "sms",
                    "address": f"p{i}@example.se" if i % 2 else phone(i),
                    "language": "sv",
                    "register": "standard",
                    "role": "public",
                    "audience": "visually-impaired",
                    "status": "planned",
                    "attempts": 0,
                }
                for i in range(1, PEOPLE + 1)
            ],
        )
    sms = PEOPLE // 2
    real = pdf.render_pdf
    renders: list[tuple[str, int]] = []  # (thread, SMS at the server when the render ended)

    with FakeTwilio() as fake:

        def slow_render(*args: Any, **kwargs: Any) -> bytes:
            data = real(*args, **kwargs)
            time.sleep(SLOW_RENDER_SECONDS)  # WeasyPrint on a busy machine
            renders.append((threading.current_thread().name, len(fake.messages)))
            return data

        monkeypatch.setattr(pdf, "render_pdf", slow_render)
        # One claim holds every delivery, SMS and e-mail alike.
        drain(fake_settings(fake, tmp_path, database_url, worker_batch_size=100), engine)
        assert len(fake.messages) == sms

    assert statuses(engine) == {"sent": PEOPLE}
    [(thread, sms_at_the_server)] = renders  # once for the variant, for all 15 e-mails
    assert thread.startswith("kv-pdfs")
    assert sms_at_the_server == sms  # no SMS waited for the PDF
    mails = [
        BytesParser(policy=policy.default).parsebytes(p.read_bytes())
        for p in (tmp_path / "var" / "outbox" / "email").glob("*.eml")
    ]
    assert len(mails) == PEOPLE - sms
    for mail in mails:
        [attachment] = list(mail.iter_attachments())
        assert attachment.get_content_type() == "application/pdf"
        assert attachment.get_content().startswith(b"%PDF")


def test_a_render_that_failed_is_tried_again_for_the_next_e_mail() -> None:
    """One failed render (a full disk, memory) fails that claim's e-mails, not the variant's."""

    class FailsOnce:
        calls = 0

        def pdf(self, wanted: PdfWanted) -> Attachment:
            self.calls += 1
            if self.calls == 1:
                raise OSError("No space left on device")
            return Attachment("notice.pdf", "application/pdf", b"%PDF-1.7")

    wanted = PdfWanted(7, cast(Any, None), "ABC123", cast(Any, ("sv", "standard", "public")))

    def job(number: int) -> Job:
        message = OutgoingMessage("email", f"p{number}@example.se", "text", f"ref-{number}")
        return Job(number, "email", 0, message, pdf=wanted)

    builder = FailsOnce()
    attacher = PdfAttacher(cast(MessageBuilder, builder))
    try:
        first = asyncio.run(attacher.attach(job(1)))
        second = asyncio.run(attacher.attach(job(2)))
    finally:
        attacher.shutdown()
    assert isinstance(first, Outcome) and "No space left" in (first.error or "")
    assert isinstance(second, OutgoingMessage), second
    assert [a.filename for a in second.attachments] == ["notice.pdf"]
    assert builder.calls == 2
