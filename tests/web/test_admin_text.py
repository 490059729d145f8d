"""The administration pages' words are in locales/<lang>/LC_MESSAGES/admin.po: Swedish for all."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from service.accounts.admin_render import TEMPLATE_DIRS
from service.rendering.messages import template_msgids
from tests.conftest import ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalog(language: str) -> dict[str, object]:
    path = ROOT / "locales" / language / "LC_MESSAGES" / "admin.po"
    with path.open("rb") as handle:
        po = read_po(handle)
    return {(m.id[0] if isinstance(m.id, tuple | list) else m.id): m for m in po if m.id}


def test_every_word_of_the_admin_pages_has_swedish_with_the_same_placeholders() -> None:
    used = {
        m
        for folder in TEMPLATE_DIRS.values()
        for p in folder.glob("*.html")
        for m, _ in template_msgids(p)
    }
    assert len(used) > 250
    swedish, english = catalog("sv"), catalog("en")
    assert set(swedish) == set(english) == used  # nothing missing, nothing stale
    for msgid in used:
        message = swedish[msgid]
        forms = message.string if isinstance(message.string, tuple) else (message.string,)  # type: ignore[attr-defined]
        assert not message.fuzzy, msgid  # type: ignore[attr-defined]
        for form in forms:
            assert form, f"no Swedish for {msgid!r}"
            assert set(PLACEHOLDER.findall(str(form))) == set(PLACEHOLDER.findall(msgid)), msgid
