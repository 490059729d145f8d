from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from service.interop.validation import SCHEMA_PATH, check_cap
from tests.interop.conftest import XSD_PATH

INFO = """
  <info>
    <language>{language}</language>
    <category>Met</category>
    <event>Vind</event>
    <urgency>Expected</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    {expires}
    <headline>Orange varning för vind</headline>
    <description>{description}</description>
    <area>
      <areaDesc>Västerås kommun</areaDesc>
      {shapes}
    </area>
  </info>"""


def alert(
    *,
    identifier: str = "vasteras.se.klarvarsel.K7M3PX",
    sender: str = "kris@vasteras.se",
    sent: str = "2026-11-23T08:00:00+01:00",
    msg_type: str = "Alert",
    scope: str = "Public",
    references: str | None = None,
    infos: list[dict[str, str]] | None = None,
) -> bytes:
    refs = f"<references>{references}</references>" if references is not None else ""
    body = "".join(
        INFO.format(
            **{"language": "sv-SE", "expires": "", "shapes": "", "description": "Hård vind."} | info
        )
        for info in (infos if infos is not None else [{}])
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{identifier}</identifier><sender>{sender}</sender><sent>{sent}</sent>"
        f"<status>Actual</status><msgType>{msg_type}</msgType><scope>{scope}</scope>"
        f"{refs}{body}</alert>"
    ).encode()


def problems(data: bytes) -> list[str]:
    return [str(p) for p in check_cap(data).problems]


def test_the_service_ships_the_same_schema_the_tests_keep() -> None:
    assert SCHEMA_PATH.read_bytes() == XSD_PATH.read_bytes()


def test_a_plain_alert_is_valid() -> None:
    assert problems(alert()) == []


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        ("2026-11-23T07:00:00Z", "without Z"),
        ("2026-11-23T08:00:00.123+01:00", "fractions of a second"),
        ("2026-11-23T08:00:00", "with an offset"),
    ],
)
def test_times_the_schema_refuses_are_explained(sent: str, why: str) -> None:
    found = problems(alert(sent=sent))
    assert len(found) == 1 and found[0].startswith("/alert/sent: is ") and why in found[0]


@pytest.mark.parametrize(
    ("identifier", "sender"),
    [
        ("vasteras K7M3PX", "kris@vasteras.se"),
        ("vasteras,K7M3PX", "kris@vasteras.se"),
        ("vasteras&amp;K7M3PX", "kris@vasteras.se"),
        ("vasteras.se.K7M3PX", "kris @vasteras.se"),
    ],
)
def test_identifiers_and_senders_with_forbidden_characters_fail(
    identifier: str, sender: str
) -> None:
    found = problems(alert(identifier=identifier, sender=sender))
    assert len(found) == 1
    assert "space, comma, '<', '&' or control character" in found[0]


@pytest.mark.parametrize(
    ("references", "expected"),
    [
        ("kris@vasteras.se,vasteras.se.klarvarsel.AB2CDE", "is not one sender,identifier,sent"),
        (
            "kris@vasteras.se,vasteras.se.klarvarsel.AB2CDE,2026-11-23T07:00:00Z",
            "is not a CAP time",
        ),
        (
            "kris@vasteras.se,vasteras.se klarvarsel,2026-11-23T07:00:00+01:00",
            "is not one sender,identifier,sent",
        ),
        ("kris@vasteras.se,vasteras.se.klarvarsel.K7M3PX,2026-11-23T07:00:00+01:00", "itself"),
    ],
)
def test_malformed_references_fail(references: str, expected: str) -> None:
    found = problems(alert(msg_type="Update", references=references))
    assert any(expected in p and p.startswith("/alert/references") for p in found), found


def test_a_good_reference_list_passes() -> None:
    references = (
        "kris@vasteras.se,vasteras.se.klarvarsel.AB2CDE,2026-11-23T07:00:00+01:00 "
        "kris@vasteras.se,vasteras.se.klarvarsel.XY3ZQR,2026-11-23T07:30:00+01:00"
    )
    assert problems(alert(msg_type="Update", references=references)) == []


def test_an_update_or_cancel_must_reference_something() -> None:
    assert problems(alert(msg_type="Cancel")) == [
        "/alert/references: a Cancel must name the messages it follows as sender,identifier,sent"
    ]


def test_polygons_must_close_and_circles_be_well_formed() -> None:
    open_polygon = "<polygon>59.6,16.5 59.7,16.6 59.6,16.7 59.5,16.6</polygon>"
    short = "<polygon>59.6,16.5 59.7,16.6 59.6,16.5</polygon>"
    off_earth = "<polygon>99.6,16.5 59.7,16.6 59.6,16.7 99.6,16.5</polygon>"
    closed = "<polygon>59.6,16.5 59.7,16.6 59.6,16.7 59.6,16.5</polygon>"
    circle = "<circle>59.61,16.54 12</circle><circle>59.61;16.54 twelve</circle>"
    found = problems(alert(infos=[{"shapes": open_polygon + short + off_earth + closed + circle}]))
    assert found == [
        "/alert/info[1]/area[1]/polygon[1]: is not closed: the last point must be the first",
        "/alert/info[1]/area[1]/polygon[2]: has 3 points; at least 4 are needed",
        "/alert/info[1]/area[1]/polygon[3]: every point must be latitude,longitude in WGS 84 "
        "degrees",
        "/alert/info[1]/area[1]/circle[2]: must be 'latitude,longitude radius-in-km'",
    ]


def test_text_repeated_word_for_word_in_another_language_was_not_translated() -> None:
    swedish = "Mycket hårda vindbyar väntas från tisdag kväll i hela kommunen."
    infos = [
        {"language": "sv-SE", "description": swedish},
        {"language": "en", "description": "Very strong gusts are expected from Tuesday evening."},
        {"language": "ar", "description": swedish},
    ]
    found = problems(alert(infos=infos))
    assert len(found) == 1
    assert found[0].startswith("/alert/info[3]: the ar text repeats the sv-SE text word for word")


def test_persian_and_dari_may_share_sentences() -> None:
    same = "لطفاً در خانه بمانید و پنجره‌ها را ببندید تا هشدار تمام شود."
    infos = [{"language": "fa", "description": same}, {"language": "fa-AF", "description": same}]
    assert problems(alert(infos=infos)) == []


def test_short_lines_such_as_addresses_may_repeat() -> None:
    infos = [
        {"language": "sv-SE", "description": "Stadsbiblioteket, Biskopsgatan 2"},
        {"language": "en", "description": "Stadsbiblioteket, Biskopsgatan 2"},
    ]
    assert problems(alert(infos=infos)) == []


def test_schema_order_and_values_are_enforced_with_their_place() -> None:
    data = alert().replace(
        b"<status>Actual</status><msgType>Alert</msgType>",
        b"<msgType>Alert</msgType><status>Actual</status>",
    )
    found = problems(data)
    assert found and found[0].startswith("/alert:") and "msgType" in found[0]
    bad_value = alert().replace(b"<urgency>Expected</urgency>", b"<urgency>Soon</urgency>")
    assert problems(bad_value)[0].startswith("/alert/info/urgency: value must be one of")


def test_expiry_before_sending_and_restricted_scope_fail() -> None:
    data = alert(infos=[{"expires": "<expires>2026-11-23T07:00:00+01:00</expires>"}])
    assert problems(data) == ["/alert/info[1]/expires: is not after the time the alert was sent"]
    assert problems(alert(scope="Restricted")) == [
        "/alert/restriction: is required when scope is Restricted"
    ]


def test_a_document_that_is_not_a_cap_alert_says_so() -> None:
    found = problems(b"<feed xmlns='http://www.w3.org/2005/Atom'/>")
    assert found == [
        "/: the root element is <{http://www.w3.org/2005/Atom}feed>; a CAP 1.2 message is an "
        "<alert> in the namespace urn:oasis:names:tc:emergency:cap:1.2"
    ]


def test_every_problem_is_reported_at_once() -> None:
    data = alert(identifier="a b", sent="2026-11-23T07:00:00Z", msg_type="Update")
    found = problems(data)
    assert len(found) == 3, found
    ET.fromstring(data)  # well-formed: each problem is about CAP, not XML
