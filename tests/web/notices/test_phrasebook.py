"""The engine's English messages are said in Swedish on Swedish pages (service.web.phrasebook).

Each message comes from the real check, planner or validator, not from a copy of its wording,
so a changed message shows up here as English that the phrasebook no longer knows.
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from service.accounts.roles import Role
from service.channels.sms.encoding import analyse_sms
from service.content import get_library
from service.main import app
from service.notices.service import NoticeInvalid, validate_notice
from service.readability.limits import ReadabilityLimits
from service.readability.service import check_text
from service.store.database import session_scope
from service.variants.checks import _sms_findings
from service.web.layout import Words
from service.web.phrasebook import Phrasebook
from service.workflow.drafts import create_draft
from service.workflow.schemas import Actor
from tests.conftest import ROOT
from tests.delivery.test_planning import person, register
from tests.web.staff_site import email_of, staff_site

SWEDISH = Phrasebook(Words("sv"))
TEXT = (
    "Vattnet har stängts av i hela Skultuna på grund av en omfattande ledningsreparation som "
    "genomförs av kommunens entreprenörer under hela förmiddagen och eftermiddagen i dag. "
    "Vattenledningen repareras. Vi erhåller information senare. Kokt vatten behövs."
)


def test_every_readability_finding_of_a_hard_text_is_said_in_swedish() -> None:
    limits = ReadabilityLimits(
        max_lix=20,
        min_flesch_reading_ease=90,
        max_words_per_sentence=6,
        max_sentence_words=10,
        max_long_word_share=0.1,
        max_passive_share=0.0,
        max_plain_word_findings=0,
    )
    findings = check_text(TEXT, "sv", limits).findings
    kinds = {f.kind for f in findings}
    assert {"limit_exceeded", "long_sentence", "long_word", "limit_not_applicable"} <= kinds
    for finding in findings:
        assert SWEDISH.said(finding.message), finding.message
    said = [SWEDISH.said(f.message) or "" for f in findings]
    assert any(
        re.match(r"Mening 1 har \d+ ord: \d+ fler än målgruppens gräns 10$", s) for s in said
    )
    assert any(s.startswith("Andelen långa ord är ") and " %" in s for s in said)
    assert any("det gäller bara engelska" in s for s in said)  # Flesch on Swedish


def test_sms_findings_and_a_validator_limit_are_said_in_swedish() -> None:
    findings = _sms_findings(analyse_sms("Vatten 💧 " * 80), budget=2)
    assert [f.severity for f in findings] == ["error", "error", "warning"]
    said = [SWEDISH.said(f.message) for f in findings]
    assert said[0] and said[0].startswith("Sms:et behöver ") and "för många" in said[0]
    assert said[2] and said[2].startswith("Skickas som UCS-2")
    raw = json.loads((ROOT / "demo" / "notices" / "water_outage_skultuna.json").read_text())
    raw["note"] = {"sv": "x" * 5000}
    raw["fields"]["area_name"] = "y" * 3000
    with pytest.raises(NoticeInvalid) as refused:
        validate_notice(raw, get_library())
    said = {p.location: SWEDISH.said(p.message) for p in refused.value.problems}
    assert said == {
        "note.sv": "får vara högst 1000 tecken",
        "fields.area_name": "är 3000 tecken; högst 80 är tillåtet",
    }


def test_unknown_english_stays_english_and_english_pages_keep_the_words() -> None:
    assert SWEDISH.said("sms: 30007 carrier violation") is None  # marked lang="en" by the page
    assert Phrasebook(Words("en")).said("anything at all") == "anything at all"
    joined = "no sms or email among the notice's channels with a contact detail for it"
    assert SWEDISH.said(joined) == (
        "ingen av meddelandets kanaler (sms eller e-post) har en kontaktuppgift till personen"
    )


def test_a_swedish_preview_with_a_failing_check_shows_swedish(tmp_path: object) -> None:
    raw = json.loads((ROOT / "demo" / "notices" / "water_outage_skultuna.json").read_text())
    raw["note"] = {"sv": TEXT}  # long sentences and formal words: the readability check fails
    with staff_site(tmp_path) as site:  # type: ignore[arg-type]
        with session_scope(site.engine) as session:
            author = Actor(email_of(Role.author), "web")
            code = create_draft(session, raw, get_library(), author, complete=True).code
        register(
            site.engine,
            person("Sara", phone="+46701740611", areas=["skultuna"]),
            person("Ali", phone="+46701740612", areas=["skultuna"], languages=["ar"]),
        )
        client, _csrf = site.client(Role.author, app)
        page = client.get(f"/notices/{code}/preview").text
        english = TestClient(app, cookies=client.cookies).get(f"/notices/{code}/preview?lang=en")
    assert "Mening " in page and "fler än målgruppens gräns" in page
    assert "over the audience limit" not in page
    # Whom it reaches, by language and audience: names, not codes.
    reach = page[page.index('id="plan"') :]
    reach = reach[: reach.index("</dl>")]
    assert "svenska: 1" in reach and "arabiska: 1" in reach and "sv: " not in reach
    assert "general-public" not in reach
    assert re.search(r"Sms-delar och kostnad</dt><dd>\d+ · \d+,\d\d kr", reach), reach
    assert "over the audience limit" in english.text or "over the audience's" in english.text


def test_languages_in_findings_are_named_not_tagged() -> None:
    """'the so catalog is a draft' from a real render is said with the language's Swedish name."""
    from service.variants.service import render_notice

    library = get_library()
    raw = json.loads((ROOT / "demo" / "notices" / "water_outage_skultuna.json").read_text())
    raw["languages"] = ["sv", "so", "fa-AF"]
    report = render_notice(validate_notice(raw, library), library)
    drafts = {
        c.variant.key.language: f.message
        for c in report.checks
        for f in c.findings
        if "catalog is a draft" in f.message
    }
    assert {"so", "fa-AF"} <= set(drafts)
    assert "somaliska" in (SWEDISH.said(drafts["so"]) or "")
    assert "dari" in (SWEDISH.said(drafts["fa-AF"]) or "")
    assert Phrasebook(Words("en")).said(drafts["so"]) == drafts["so"]  # English keeps the tag


def test_a_limit_not_validated_for_the_language_keeps_its_remark() -> None:
    """The '(LIX is not validated for fi)' remark of a real finding is said too, not dropped."""
    finnish = (
        "Vedenjakelu on keskeytetty koko Skultunan alueella laajan putkikorjauksen vuoksi, jota "
        "kunnan urakoitsijat tekevät koko aamupäivän ja iltapäivän ajan tänään."
    )
    limits = ReadabilityLimits(max_lix=20)
    findings = [f for f in check_text(finnish, "fi", limits).findings if f.measure == "lix"]
    message = next(f.message for f in findings if "is not validated for fi" in f.message)
    said = SWEDISH.said(message) or ""
    assert said.startswith("LIX är ") and said.endswith("(LIX är inte prövat för finska)"), said


def test_hostile_characters_and_times_in_the_wrong_order_are_said_in_swedish() -> None:
    """The validator's own messages (a bidi override, a bell, an end before its start)."""
    library = get_library()
    raw = json.loads((ROOT / "demo" / "notices" / "water_outage_skultuna.json").read_text())
    raw["note"] = {"sv": "Ta med\u202e dunkar\u0007."}
    raw["fields"]["expected_end"] = "2026-11-23T08:00:00+01:00"  # before it starts
    with pytest.raises(NoticeInvalid) as caught:
        validate_notice(raw, library)
    said = [(p.location, SWEDISH.said(p.message)) for p in caught.value.problems]
    assert all(text for _, text in said), said  # nothing left in English
    joined = " | ".join(f"{where}: {text}" for where, text in said)
    assert "U+202E RIGHT-TO-LEFT OVERRIDE på plats 7, som ändrar i vilken ordning" in joined
    assert "U+0007 BELL på plats 15, som är ett styrtecken" in joined
    assert "är före ”Vattnet stängs av”; den måste komma efter" in joined
    assert "starts_at" not in joined


def test_an_end_already_passed_is_said_with_the_fields_label() -> None:
    from datetime import datetime, timedelta

    library = get_library()
    raw = json.loads((ROOT / "demo" / "notices" / "water_outage_skultuna.json").read_text())
    end = datetime.fromisoformat(raw["fields"]["expected_end"])
    notice = validate_notice(raw, library, now=end + timedelta(hours=1))
    warnings = [str(w) for w in notice.warnings if "already over" in str(w)]
    assert warnings, notice.warnings
    said = Phrasebook(Words("sv"), scenario="water_outage").said(warnings[0]) or ""
    assert said.startswith("Beräknas tillbaka: har redan passerat ("), said
    # Without the page's scenario "expected_end" has several labels: English, marked.
    assert SWEDISH.said(warnings[0]) is None


def test_an_empty_list_from_the_schema_is_said_in_swedish() -> None:
    raw = json.loads((ROOT / "demo" / "notices" / "water_outage_skultuna.json").read_text())
    raw["areas"] = []
    with pytest.raises(NoticeInvalid) as caught:
        validate_notice(raw, get_library())
    said = [SWEDISH.said(p.message) for p in caught.value.problems if p.location == "areas"]
    assert said and all(s and s.startswith("välj minst") for s in said), said
