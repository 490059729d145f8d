"""The staff pages' words are in locales/<lang>/LC_MESSAGES/staff.po: Swedish for every msgid."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from service.accounts.pages import TEMPLATES_DIR
from service.accounts.passwords import PasswordProblem, password_problems
from service.rendering.messages import template_msgids
from tests.conftest import ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalog(language: str) -> dict[str, str | tuple[str, ...]]:
    path = ROOT / "locales" / language / "LC_MESSAGES" / "staff.po"
    with path.open("rb") as handle:
        po = read_po(handle)
    return {(m.id[0] if isinstance(m.id, tuple | list) else m.id): m.string for m in po if m.id}


def test_every_word_of_the_staff_pages_has_a_swedish_translation_with_the_same_placeholders() -> (
    None
):
    used = {m for path in TEMPLATES_DIR.glob("*.html") for m, _ in template_msgids(path)}
    used |= {
        p.msgid
        for p in [
            *password_problems("kort"),
            *password_problems("Password1234567", email="password@example.se"),
            *password_problems("xyz" * 86),
            PasswordProblem("uses fewer than 5 different characters"),
        ]
    }
    swedish, english = catalog("sv"), catalog("en")
    assert used - set(swedish) == set()
    assert set(swedish) == set(english) == used  # no stale entries either
    for msgid in used:
        forms = swedish[msgid] if isinstance(swedish[msgid], tuple) else (swedish[msgid],)
        for form in forms:
            assert form, f"no Swedish for {msgid!r}"
            assert set(PLACEHOLDER.findall(str(form))) == set(PLACEHOLDER.findall(msgid)), msgid
