"""The SMTP transport against a real aiosmtpd server on loopback, and the .eml outbox."""

from __future__ import annotations

import asyncio
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from service.audiences.schemas import Register, Role
from service.channels.base import Attachment, OutgoingMessage, TransportError
from service.channels.email.factory import make_email_transport
from service.channels.email.outbox_transport import EmailOutboxTransport
from service.channels.email.smtp_transport import SmtpEmailTransport
from service.config import Settings
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import validate_notice
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant
from tests.conftest import ROOT, load_json
from tests.fakes.smtp_server import HOST, free_port, self_signed_tls, silent_server, smtp_server

SENDER = "Västerås stad <kris@vasteras.se>"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def notice_email(
    library: ContentLibrary, lang: str, to: str, reference: str, *, pdf: bool = False
) -> OutgoingMessage:
    raw = load_json(ROOT / "message_templates" / "water_outage" / "example.json")
    raw["languages"] = list(dict.fromkeys(["sv", lang]))
    notice = validate_notice(raw, library)
    key = VariantKey(lang, Register.standard, Role.public, Channel.email)
    variant = render_variant(notice, key, library)
    attachments = (Attachment("notice.pdf", "application/pdf", PDF),) if pdf else ()
    return OutgoingMessage(
        channel="email",
        to=to,
        text=variant.text,
        reference=reference,
        language=lang,
        subject=variant.subject,
        html=variant.html,
        attachments=attachments,
    )


def transport(port: int, **options: object) -> SmtpEmailTransport:
    settings: dict[str, object] = {"security": "none", "timeout_seconds": 5.0}
    settings.update(options)
    return SmtpEmailTransport(host=HOST, port=port, sender=SENDER, **settings)  # type: ignore[arg-type]


def send(smtp: SmtpEmailTransport, message: OutgoingMessage) -> str:
    return asyncio.run(smtp.send(message)).provider_id


def refusal(smtp: SmtpEmailTransport, message: OutgoingMessage) -> TransportError:
    with pytest.raises(TransportError) as caught:
        asyncio.run(smtp.send(message))
    return caught.value


@pytest.mark.parametrize("lang", ["sv", "ar", "ti"])
def test_sent_email_arrives_whole_and_in_order(library: ContentLibrary, lang: str) -> None:
    message = notice_email(library, lang, "anna@example.se", f"N1-{lang}", pdf=True)
    with smtp_server() as server:
        provider_id = send(transport(server.port), message)
    [mail] = server.received
    assert mail.mail_from == "kris@vasteras.se" and mail.rcpt_tos == ["anna@example.se"]
    email = mail.parsed()
    assert email["Subject"] == message.subject  # RFC 2047 round trip, Arabic and Ethiopic too
    assert email["Message-ID"] == provider_id
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["Content-Language"] == lang
    assert email["X-Klarvarsel-Reference"] == f"N1-{lang}"
    assert email.get_content_type() == "multipart/mixed"
    alternative, attachment = email.iter_parts()
    assert isinstance(alternative, EmailMessage) and isinstance(attachment, EmailMessage)
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    text, html = (p.get_content() for p in alternative.iter_parts())
    assert message.subject.split(": ")[-1] in text
    direction = library.languages[lang].direction
    assert f'<html lang="{library.languages[lang].cap_language}" dir="{direction}">' in html
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "notice.pdf"
    assert attachment.get_content() == PDF


def test_each_recipient_gets_its_own_message_id(library: ContentLibrary) -> None:
    with smtp_server() as server:
        smtp = transport(server.port)
        ids = [
            send(smtp, notice_email(library, "sv", to, ref))
            for to, ref in [("anna@example.se", "N2-1"), ("bo@example.se", "N2-2")]
        ]
    assert len(set(ids)) == 2
    assert [m.parsed()["Message-ID"] for m in server.received] == ids
    assert all(i.endswith("@vasteras.se>") for i in ids)


@pytest.mark.parametrize(("code", "permanent"), [(550, True), (451, False)])
def test_refused_recipient(library: ContentLibrary, code: int, permanent: bool) -> None:
    message = notice_email(library, "sv", "anna.andersson@example.se", "N3")
    with smtp_server(refuse_with=code) as server:
        error = refusal(transport(server.port), message)
    assert error.permanent is permanent
    assert str(code) in str(error)
    assert "anna.andersson" not in str(error) and "a***@example.se" in str(error)
    assert server.received == []


def test_closed_port_is_temporary(library: ContentLibrary) -> None:
    error = refusal(transport(free_port()), notice_email(library, "sv", "anna@example.se", "N4"))
    assert not error.permanent


def test_silent_server_is_temporary_within_the_timeout(library: ContentLibrary) -> None:
    message = notice_email(library, "sv", "anna@example.se", "N5")
    with silent_server() as port:
        started = time.monotonic()
        error = refusal(transport(port, timeout_seconds=0.5), message)
        elapsed = time.monotonic() - started
    assert not error.permanent
    assert elapsed < 2.0


def test_starttls_and_login(library: ContentLibrary, tmp_path: Path) -> None:
    tls = self_signed_tls(tmp_path)
    message = notice_email(library, "sv", "anna@example.se", "N6")
    with smtp_server(tls_context=tls.server, credentials=("klarvarsel", "hemligt")) as server:
        send(
            transport(
                server.port,
                security="starttls",
                username="klarvarsel",
                password="hemligt",
                tls_context=tls.client,
            ),
            message,
        )
        wrong = refusal(
            transport(
                server.port,
                security="starttls",
                username="klarvarsel",
                password="fel",
                tls_context=tls.client,
            ),
            message,
        )
        # Without trusting the certificate the client must refuse to go on.
        untrusted = refusal(transport(server.port, security="starttls"), message)
    [mail] = server.received
    assert mail.tls and mail.login == "klarvarsel"
    # A wrong password is the operator's to fix, not the recipient's: retried, not dropped.
    assert not wrong.permanent and "hemligt" not in str(wrong) and "fel" not in str(wrong)
    assert not untrusted.permanent


def test_server_that_requires_starttls_refuses_plain_text(
    library: ContentLibrary, tmp_path: Path
) -> None:
    tls = self_signed_tls(tmp_path)
    with smtp_server(tls_context=tls.server) as server:
        error = refusal(transport(server.port), notice_email(library, "sv", "a@example.se", "N7"))
    assert not error.permanent and server.received == []


def test_outbox_writes_a_parseable_eml(library: ContentLibrary, tmp_path: Path) -> None:
    message = notice_email(library, "ar", "anna@example.se", "N8/ar", pdf=True)
    result = asyncio.run(EmailOutboxTransport(tmp_path, sender=SENDER).send(message))
    [path] = (tmp_path / "email").iterdir()
    assert path.name.endswith("-N8_ar.eml")
    email = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(email, EmailMessage)
    assert email["Message-ID"] == result.provider_id
    assert email["Subject"] == message.subject
    body = email.get_body(preferencelist=("html",))
    assert body is not None and 'dir="rtl"' in body.get_content()
    assert [a.get_filename() for a in email.iter_attachments()] == ["notice.pdf"]


def test_factory_follows_the_settings(tmp_path: Path) -> None:
    outbox = make_email_transport(Settings(var_dir=tmp_path))
    assert isinstance(outbox, EmailOutboxTransport)
    assert outbox.directory == tmp_path / "outbox" / "email"
    smtp = make_email_transport(
        Settings(email_transport="smtp", smtp_host="mail.example.se", smtp_security="ssl")
    )
    assert isinstance(smtp, SmtpEmailTransport)
    assert (smtp.host, smtp.security, smtp.envelope_sender) == (
        "mail.example.se",
        "ssl",
        "kris@vasteras.se",
    )


@pytest.mark.parametrize(
    "address", ["anna@example.se\r\nBcc: all@example.se", "anna@example.se> RCPT TO:<b@x.se"]
)
def test_address_that_could_inject_is_refused_for_good(
    library: ContentLibrary, address: str
) -> None:
    with smtp_server() as server:
        error = refusal(transport(server.port), notice_email(library, "sv", address, "N9"))
    assert error.permanent and server.received == []
    assert "anna@" not in str(error)


def test_outbox_that_cannot_be_written_is_temporary(
    library: ContentLibrary, tmp_path: Path
) -> None:
    (tmp_path / "email").write_text("a file where the folder should be")
    outbox = EmailOutboxTransport(tmp_path, sender=SENDER)
    with pytest.raises(TransportError) as caught:
        asyncio.run(outbox.send(notice_email(library, "sv", "anna@example.se", "N10")))
    assert not caught.value.permanent
