"""Who a CAP alert is from and what it is called: sender, identifier, and public addresses.

The sender is the municipality's crisis address (`KLARVARSEL_CAP_SENDER`, else the address in
`KLARVARSEL_SMTP_FROM`, e.g. kris@vasteras.se). A notice's identifier is
`<sender domain>.klarvarsel.<public code>` (vasteras.se.klarvarsel.K7M3PX): codes are unique in
the store, so identifiers are unique per sender, and the code can be read back from them.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

from service.config import Settings
from service.notices.links import public_base_url
from service.notices.publish import CODE_ALPHABET, CODE_LENGTH

IDENTIFIER_INFIX = "klarvarsel"
CODE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")


class SenderNotConfigured(ValueError):
    """No usable CAP sender: set KLARVARSEL_CAP_SENDER."""


def cap_sender(settings: Settings) -> str:
    """The CAP <sender> of every alert this installation publishes."""
    sender = settings.cap_sender.strip() or parseaddr(settings.smtp_from)[1]
    if not sender or re.search(r"[\s,<&]", sender) or not re.search(r"\w\.\w", sender):
        raise SenderNotConfigured(
            f"no usable CAP sender ({sender!r}): set KLARVARSEL_CAP_SENDER to the "
            "municipality's crisis address or domain, e.g. kris@vasteras.se"
        )
    return sender


def identifier_prefix(settings: Settings) -> str:
    """`vasteras.se.klarvarsel`: the sender's domain and the system that numbers the alerts."""
    return f"{cap_sender(settings).rsplit('@', 1)[-1].lower()}.{IDENTIFIER_INFIX}"


def cap_identifier(settings: Settings, code: str) -> str:
    """The CAP identifier of the notice published under `code`."""
    return f"{identifier_prefix(settings)}.{code}"


def code_of(settings: Settings, sender: str, identifier: str) -> str | None:
    """The public code inside one of our own identifiers; None for anybody else's."""
    try:
        ours = cap_sender(settings)
    except SenderNotConfigured:
        return None
    prefix = identifier_prefix(settings) + "."
    if sender != ours or not identifier.startswith(prefix):
        return None
    code = identifier.removeprefix(prefix)
    return code if CODE.match(code) else None


def cap_url(settings: Settings, code: str) -> str:
    """Where anyone can fetch a sent notice's CAP alert (`GET /feeds/cap/{code}.xml`).

    Public, as the notice's page is: feed readers follow it without a key. The same alert is
    served to keys with notices:read at `/api/v1/notices/{code}/cap.xml`.
    """
    return f"{public_base_url(settings)}/feeds/cap/{code}.xml"


def feed_url(settings: Settings, name: str, language: str | None) -> str:
    """A public Atom feed's address (`/feeds/{name}.atom`, `?lang=` for a language variant)."""
    query = f"?lang={language}" if language else ""
    return f"{public_base_url(settings)}/feeds/{name}.atom{query}"
