"""A rendered list keeps every item as written: no conjunction glued to a house number."""

from __future__ import annotations

import re

from service.audiences.schemas import Register, Role
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import validate_notice
from service.rendering.bidi import strip_isolates
from service.rendering.catalogs import load_catalog
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant
from tests.conftest import ROOT, load_json

ITEMS = ["Hökåsens skola, Hökåsvägen 8", "Hökåsens centrum, Hökåsvägen 2"]


def test_list_items_stay_intact_in_every_language(library: ContentLibrary) -> None:
    raw = load_json(ROOT / "message_templates" / "boil_water" / "example.json")
    notice = validate_notice({**raw, "fields": {**raw["fields"], "water_points": ITEMS}}, library)
    checked = []
    for tag in library.languages:
        if tag != "en" and not load_catalog(library.locales_dir, tag).exists:
            continue
        key = VariantKey(tag, Register.standard, Role.public, Channel.sms)
        text = strip_isolates(render_variant(notice, key, library).text)
        for item in ITEMS:
            # The item, then no letter: "Hökåsvägen 8ን" would read as another address.
            assert re.search(re.escape(item) + r"(?!\w)", text), (tag, item, text)
        checked.append(tag)
    assert "ti" in checked and "sv" in checked
