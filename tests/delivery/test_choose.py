from __future__ import annotations

from service.content import ContentLibrary
from service.delivery.choose import assign
from service.notices.service import validate_notice
from service.recipients.schemas import Recipient
from tests.conftest import SAMPLE_NOTICES, load_json


def care_home(library: ContentLibrary):  # type: ignore[no-untyped-def]
    return validate_notice(load_json(SAMPLE_NOTICES / "care_home_power_cut.json"), library)


def test_language_falls_back_through_the_profile_chain(library: ContentLibrary) -> None:
    notice = care_home(library)  # sv, en, ar, fi
    somali = Recipient(
        "Ayaan", phone="+46701234567", languages=("so",), audiences=("other-languages",)
    )
    (message,), _ = assign(somali, notice, library)
    assert message.key.language == "en"  # other-languages falls back to English, then Swedish
    arabic = Recipient("Ali", phone="+46701234568", languages=("ar", "sv"))
    assert assign(arabic, notice, library)[0][0].key.language == "ar"


def test_easy_read_wins_and_staff_get_staff_instructions(library: ContentLibrary) -> None:
    notice = care_home(library)
    easy = Recipient("Anna", phone="+46701234567", audiences=("general-public", "easy-read"))
    assert assign(easy, notice, library)[0][0].key.register == "easy_read"
    staff = Recipient(
        "Carl",
        phone="+46701234569",
        email="carl@example.se",
        audiences=("general-public", "care-staff"),
    )
    messages, _ = assign(staff, notice, library)
    assert {(m.channel.value, m.key.role.value) for m in messages} == {
        ("sms", "staff"),
        ("email", "staff"),
    }


def test_a_recipient_without_a_usable_channel_is_listed_with_the_reason(
    library: ContentLibrary,
) -> None:
    notice = care_home(library)
    nobody = Recipient("Dana", email="dana@example.se", audiences=("older-people-living-alone",))
    messages, problem = assign(nobody, notice, library)
    assert messages == [] and problem is not None
    assert "sms" in problem.reason
    assert "print-pack --audience older-people-living-alone" in problem.reason
