"""A rendered list keeps every item as written: no conjunction glued to a house number.

Every place a template joins a list (`|join_list`) is rendered in every language with a
catalog; Tigrinya is the case in point (Babel glues "ን" to each item: "Hökåsvägen 8ን").
"""

from __future__ import annotations

import re

import pytest

from service.audiences.schemas import Register, Role
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import validate_notice
from service.rendering.bidi import strip_isolates
from service.rendering.catalogs import load_catalog
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant
from tests.conftest import ROOT, load_json

PLACES = ["Hökåsens skola, Hökåsvägen 8", "Hökåsens centrum, Hökåsvägen 2"]
CHANNELS = ["Facebook", "Grupp 12", "sms"]
# (scenario, field, items, register, channel): every list a template joins.
JOINED = [
    ("water_outage", "water_points", PLACES, Register.standard, Channel.sms),
    ("disinformation", "seen_on", CHANNELS, Register.standard, Channel.web),
    ("disinformation", "seen_on", CHANNELS, Register.easy_read, Channel.web),
]


def test_every_joined_list_is_covered() -> None:
    """A template that starts joining another list must be added to JOINED."""
    uses = {
        (path.parent.name, match)
        for path in (ROOT / "message_templates").glob("*/*.j2")
        for match in re.findall(r"f\.(\w+)\|join_list", path.read_text("utf-8"))
    }
    assert uses == {(s, f) for s, f, *_ in JOINED}


@pytest.mark.parametrize(
    ("scenario", "field", "items", "register", "channel"),
    JOINED,
    ids=[f"{s}-{f}-{r.value}-{c.value}" for s, f, _, r, c in JOINED],
)
def test_list_items_stay_intact_in_every_language(
    library: ContentLibrary,
    scenario: str,
    field: str,
    items: list[str],
    register: Register,
    channel: Channel,
) -> None:
    raw = load_json(ROOT / "message_templates" / scenario / "example.json")
    notice = validate_notice({**raw, "fields": {**raw["fields"], field: items}}, library)
    checked = []
    for tag in library.languages:
        if tag != "en" and not load_catalog(library.locales_dir, tag).exists:
            continue
        key = VariantKey(tag, register, Role.public, channel)
        text = strip_isolates(render_variant(notice, key, library).text)
        for item in items:
            # The item, then no letter: "Hökåsvägen 8ን" would read as another address.
            assert re.search(re.escape(item) + r"(?!\w)", text), (tag, item, text)
        checked.append(tag)
    assert "ti" in checked and "sv" in checked
