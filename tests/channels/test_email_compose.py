"""Building the e-mail: structure, headers, encodings and line wrapping."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from service.audiences.schemas import Register, Role
from service.channels.base import Attachment, OutgoingMessage
from service.channels.email.compose import WRAP_WIDTH, build_email, message_id, wrap_text
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import validate_notice
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant
from tests.conftest import ROOT, load_json

SENDER = "Västerås stad <kris@vasteras.se>"
URL = "https://www.vasteras.se/kris/vattenavbrott-skultuna-2026-11-23-med-en-mycket-lang-adress"


def rendered(library: ContentLibrary, lang: str, register: Register) -> OutgoingMessage:
    raw = load_json(ROOT / "message_templates" / "heat_wave" / "example.json")
    raw["languages"] = list(dict.fromkeys(["sv", lang]))
    notice = validate_notice(raw, library)
    variant = render_variant(
        notice, VariantKey(lang, register, Role.public, Channel.email), library
    )
    return OutgoingMessage(
        channel="email",
        to="anna@example.se",
        text=variant.text,
        reference=f"HW-{lang}",
        language=lang,
        subject=variant.subject,
        html=variant.html,
    )


def reparsed(email: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(email.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize("lang", ["sv", "ar", "ti", "uk"])
@pytest.mark.parametrize("register", list(Register))
def test_subject_and_parts_round_trip(
    library: ContentLibrary, lang: str, register: Register
) -> None:
    message = rendered(library, lang, register)
    raw = build_email(message, sender=SENDER).as_bytes()
    raw.decode("ascii")  # seven-bit clean: passes relays without 8BITMIME or SMTPUTF8
    assert max(len(line) for line in raw.splitlines()) <= 78
    email = reparsed(build_email(message, sender=SENDER))
    assert email["Subject"] == message.subject
    assert email["From"] == SENDER
    assert email.get_content_type() == "multipart/alternative"
    text, html = email.iter_parts()
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert html.get_content().rstrip() == (message.html or "").rstrip()
    assert " ".join(text.get_content().split()) == " ".join(message.text.split())
    assert text["Content-Language"] == html["Content-Language"] == lang


@pytest.mark.parametrize(
    "subject",
    [
        # Python 3.11's own folder dropped the space before ሓምለ, where it broke the line.
        "ብርቱዕ ሙቐት ካብ ረቡዕ 14 ሓምለ: ሙቐት ክሳብ 33 ዲግሪ ይበጽሕ",
        "ÖVNING: Värmebölja från onsdag 14 juli: upp till 33 grader i hela Västerås kommun",
        "Heat wave from Wednesday 14 July: up to 33 degrees, with a subject long enough to fold",
    ],
)
def test_a_folded_subject_keeps_every_space(subject: str) -> None:
    message = OutgoingMessage(
        channel="email", to="anna@example.se", text="x", reference="S", subject=subject
    )
    raw = build_email(message, sender=SENDER).as_bytes()
    raw.decode("ascii")
    assert max(len(line) for line in raw.splitlines()) <= 78
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == subject


def test_headers_for_machines(library: ContentLibrary) -> None:
    email = reparsed(build_email(rendered(library, "ar", Register.standard), sender=SENDER))
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["Content-Language"] == "ar"
    assert email["X-Klarvarsel-Reference"] == "HW-ar"
    assert email["To"] == "anna@example.se"
    assert email["Date"].datetime.tzinfo is not None
    assert email["Message-ID"] == "<kv.HW-ar@vasteras.se>"


def test_message_ids_differ_per_reference_and_repeat_for_a_retry() -> None:
    first, second = message_id("N1-0001", SENDER), message_id("N1-0002", SENDER)
    assert first != second
    assert message_id("N1-0001", SENDER) == first  # a retry can be recognised as the same
    assert message_id("a b/<c>@d", "kris@example.se") == "<kv.a-b-c-d@example.se>"


def test_plain_text_only_and_attachment_layouts() -> None:
    base = OutgoingMessage(channel="email", to="a@example.se", text="Hej.", reference="R1")
    assert build_email(base, sender=SENDER).get_content_type() == "text/plain"
    pdf = Attachment("notis.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n")
    with_pdf = OutgoingMessage(**{**base.__dict__, "html": "<p>Hej.</p>", "attachments": (pdf,)})
    email = reparsed(build_email(with_pdf, sender=SENDER))
    assert email.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in email.iter_parts()] == [
        "multipart/alternative",
        "application/pdf",
    ]
    assert email["Content-Language"] == "sv"
    [attachment] = email.iter_attachments()
    assert attachment.get_filename() == "notis.pdf"


def test_wrapping_keeps_urls_and_phone_numbers_whole() -> None:
    line = "- " + " ".join(["Ring 021-39 00 00 eller läs mer på", URL, "om vattnet."] * 3)
    wrapped = wrap_text(f"Rubrik\n\n{line}")
    lines = wrapped.splitlines()
    assert lines[:2] == ["Rubrik", ""]
    assert all(len(x) <= WRAP_WIDTH or URL in x for x in lines)
    assert sum(URL in x for x in lines) == 3
    assert "021-39" in wrapped and "021-\n" not in wrapped
    assert all(x.startswith("  ") for x in lines[3:])  # hangs under the bullet
    assert " ".join(wrapped.split()) == " ".join(f"Rubrik {line}".split())


@pytest.mark.parametrize(
    "address",
    [
        "anna@example.se\nBcc: b@example.se",
        "Anna <anna@example.se>",
        "a@example.se, b@x.se",
        "anna",
    ],
)
def test_only_one_bare_recipient_address(address: str) -> None:
    message = OutgoingMessage(channel="email", to=address, text="Hej.", reference="R2")
    with pytest.raises(ValueError, match="not a single e-mail address"):
        build_email(message, sender=SENDER)
