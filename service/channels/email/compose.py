"""Building the e-mail for one recipient: plain text first, accessible HTML second, the PDF.

The plain-text part comes first in multipart/alternative (RFC 2046: the simplest form first) so
clients that cannot show HTML, and screen-reader users who prefer plain text, get the same
words. Headers tell machines what the message is: `Auto-Submitted` keeps auto-responders quiet
(RFC 3834), `Content-Language` lets clients and screen readers pick the right voice.
"""

from __future__ import annotations

import re
import textwrap
from email import policy
from email.header import Header
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import parseaddr

from service.channels.base import OutgoingMessage, mask_address
from service.clock import utcnow

# Mail clients show about 72-78 columns; shorter lines quote well in replies.
WRAP_WIDTH = 72


class _SubjectHeader(UnstructuredHeader, BaseHeader):
    """A subject folded with email.header, which keeps every space.

    Python 3.11's folder drops the space where it breaks a line between two encoded words: a
    Tigrinya subject arrived as "14ሓምለ" instead of "14 ሓምለ".
    """

    def fold(self, *, policy: Policy) -> str:
        """The header as written to the message, lines at most `max_line_length` long."""
        if str(self).isascii():
            return super().fold(policy=policy)
        encoded = Header(str(self), "utf-8", header_name=self.name).encode(
            linesep=policy.linesep, maxlinelen=policy.max_line_length
        )
        return f"{self.name}: {encoded}{policy.linesep}"


# Seven-bit parts (quoted-printable or base64 where needed) pass every relay, including the
# few without 8BITMIME; headers with non-ASCII text are RFC 2047 encoded (utf8=False).
_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("subject", _SubjectHeader)
EMAIL_POLICY = policy.default.clone(cte_type="7bit", header_factory=_HEADERS)
# A list item's bullet ("- ", "1. "): wrapped lines are indented to hang under its text.
_BULLET = re.compile(r"\s*(?:[-*•]|\d{1,3}[.)])\s+")
_NOT_ID_TEXT = re.compile(r"[^A-Za-z0-9_-]+")
FALLBACK_DOMAIN = "klarvarsel.invalid"
_ADDRESS_CHAR = r"[^\s@<>()\[\],;:\"]"
_BARE_ADDRESS = re.compile(rf"{_ADDRESS_CHAR}+@{_ADDRESS_CHAR}+\.{_ADDRESS_CHAR}+")


def wrap_text(text: str, width: int = WRAP_WIDTH) -> str:
    """Wrap long lines at spaces; words longer than a line (web addresses) are never split."""
    lines: list[str] = []
    for line in text.splitlines():
        if len(line) <= width:
            lines.append(line.rstrip())
            continue
        bullet = _BULLET.match(line)
        indent = " " * len(bullet.group(0)) if bullet else ""
        lines.extend(
            textwrap.wrap(
                line,
                width=width,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,  # phone numbers (021-39 00 00) and addresses stay whole
            )
        )
    return "\n".join(lines) + "\n"


def check_recipient(address: str) -> None:
    """Raise ValueError unless `address` is one bare address (no name, list or line break).

    Anything more could change where the message goes or what its headers say.
    """
    if _BARE_ADDRESS.fullmatch(address) is None or parseaddr(address)[1] != address:
        raise ValueError(f"not a single e-mail address: {mask_address(address)}")


def sender_domain(sender: str) -> str:
    """The domain of a From address such as 'Västerås stad <kris@vasteras.se>'."""
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2].strip().lower()
    return domain or FALLBACK_DOMAIN


def message_id(reference: str, sender: str) -> str:
    """The Message-ID for one message: the same reference always gives the same id.

    Deterministic on purpose (make_msgid adds time and randomness): when a retry follows a send
    whose "250 OK" was lost, the recipient's client sees the same Message-ID and can drop the
    copy. References are per recipient, so ids are too. The `kv.` prefix keeps our ids apart
    from other systems' mail from the same domain, and the id stays short enough to be stored
    as the provider id.
    """
    local = _NOT_ID_TEXT.sub("-", reference).strip("-") or "message"
    return f"<kv.{local}@{sender_domain(sender)}>"


def build_email(message: OutgoingMessage, *, sender: str) -> EmailMessage:
    """The complete e-mail for one recipient, ready for SMTP or an .eml file."""
    check_recipient(message.to)
    email = EmailMessage(policy=EMAIL_POLICY)
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = utcnow()
    email["Message-ID"] = message_id(message.reference, sender)
    # RFC 3834: out-of-office and other auto-responders must not answer an automatic message;
    # Exchange and Outlook read their own header for the same thing.
    email["Auto-Submitted"] = "auto-generated"
    email["X-Auto-Response-Suppress"] = "All"
    email["X-Klarvarsel-Reference"] = message.reference
    email.set_content(wrap_text(message.text))
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    # Set last: set_content clears and multipart conversion moves every Content-* header.
    email["Content-Language"] = message.language
    for part in email.walk():
        if part.get_content_maintype() == "text":
            part["Content-Language"] = message.language
    return email
