"""A notice as one CAP 1.2 alert: one <info> per language that is really translated.

Mapping (documented in the README):
- status: actual -> Actual, exercise -> Exercise, test -> Test; `<note>` names the exercise.
- msgType: alert -> Alert, update and all_clear -> Update (all_clear with responseType
  AllClear), cancel -> Cancel (responseType None).
- references: every earlier message of the thread, oldest first, as sender,identifier,sent, so
  a receiver that missed one still links the chain; incidents: the first message's identifier.
- Each <info> carries, besides the words, the notice itself as eventCode/parameters
  (`klarvarsel-*`), so importing the alert gives back the same notice.
Every alert is checked against the XSD and the extra rules before anyone gets it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from sqlalchemy.orm import Session

from service.config import Settings
from service.content import ContentLibrary
from service.interop.capmodel import CAP_NS, CapRef, cap_datetime
from service.interop.identity import cap_identifier, cap_sender
from service.interop.stored import stored_sent_at
from service.interop.texts import InfoTexts, notice_texts
from service.interop.validation import CapInvalid, CapProblem, check_cap
from service.notices.links import notice_url
from service.notices.models import NoticeRecord
from service.notices.publish import (
    content_hash,
    find_duplicate,
    find_public,
    load_stored_notice,
    next_code,
    thread_of,
)
from service.notices.scenarios import FieldSpec, FieldType
from service.notices.schemas import MessageType, Mode
from service.notices.service import Notice

STATUS = {Mode.actual: "Actual", Mode.exercise: "Exercise", Mode.test: "Test"}
MSG_TYPE = {
    MessageType.alert: "Alert",
    MessageType.update: "Update",
    MessageType.all_clear: "Update",
    MessageType.cancel: "Cancel",
}
# Names of what Klarvarsel writes into eventCode, parameter and geocode (see the README).
SCENARIO_CODE = "klarvarsel-scenario"
AREA_CODE = "klarvarsel-area"
FIELD_PREFIX = "klarvarsel-field-"
LANGUAGES = "klarvarsel-languages"
CHANNELS = "klarvarsel-channels"
NOTE = "klarvarsel-note"
SIGN_LANGUAGE_URL = "klarvarsel-sign-language-url"
EXERCISE_NAME = "klarvarsel-exercise-name"
AUDIENCE = "audience"
JSON_TYPES = (FieldType.text_list, FieldType.integer, FieldType.number, FieldType.boolean)


@dataclass(frozen=True)
class CapExport:
    """One exported alert: the XML, its identifier, and the languages left out and why."""

    xml: bytes
    identifier: str
    code: str
    languages: list[str]
    skipped: dict[str, str]


def _add(parent: ET.Element, name: str, text: str | None) -> None:
    if text:
        ET.SubElement(parent, f"{{{CAP_NS}}}{name}").text = text


def _pair(parent: ET.Element, kind: str, name: str, value: str) -> None:
    element = ET.SubElement(parent, f"{{{CAP_NS}}}{kind}")
    _add(element, "valueName", name)
    ET.SubElement(element, f"{{{CAP_NS}}}value").text = value


def field_parameter(spec: FieldSpec, raw: Any, language: str) -> str | None:
    """A field's submitted value as a CAP parameter value in `language` (None: nothing)."""
    if spec.type == FieldType.translated_text:
        text = raw.get(language) if isinstance(raw, dict) else None
        return text if isinstance(text, str) else None
    if spec.type in JSON_TYPES:
        return json.dumps(raw, ensure_ascii=False)
    return str(raw)


def _response_types(notice: Notice) -> list[str]:
    kind = notice.envelope.message_type
    if kind == MessageType.cancel:
        return ["None"]
    if kind == MessageType.all_clear:
        return ["AllClear"]
    return list(notice.scenario.cap_response_types)


def _contact(notice: Notice) -> str:
    contact = notice.envelope.contact
    ways = [contact.phone, contact.email, str(contact.web) if contact.web else None]
    return "; ".join(w for w in ways if w)


def _parameters(info: ET.Element, notice: Notice, language: str) -> None:
    envelope = notice.envelope
    for audience in envelope.audiences:
        _pair(info, "parameter", AUDIENCE, audience)
    _pair(info, "parameter", LANGUAGES, " ".join(envelope.languages))
    _pair(info, "parameter", CHANNELS, " ".join(c.value for c in envelope.channels))
    for spec in notice.scenario.fields:
        if envelope.fields.get(spec.name) is not None:
            value = field_parameter(spec, envelope.fields[spec.name], language)
            if value is not None:
                _pair(info, "parameter", FIELD_PREFIX + spec.name, value)
    if language in envelope.note:
        _pair(info, "parameter", NOTE, envelope.note[language])
    if envelope.sign_language_url:
        _pair(info, "parameter", SIGN_LANGUAGE_URL, str(envelope.sign_language_url))
    if envelope.exercise_name:
        _pair(info, "parameter", EXERCISE_NAME, envelope.exercise_name)


def _info(root: ET.Element, notice: Notice, texts: InfoTexts, library: ContentLibrary) -> None:
    envelope = notice.envelope
    info = ET.SubElement(root, f"{{{CAP_NS}}}info")
    _add(info, "language", library.languages[texts.language].cap_language)
    _add(info, "category", notice.scenario.cap_category)
    _add(info, "event", texts.event)
    for response in _response_types(notice):
        _add(info, "responseType", response)
    _add(info, "urgency", envelope.urgency.value.capitalize())
    _add(info, "severity", envelope.severity.value.capitalize())
    _add(info, "certainty", envelope.certainty.value.capitalize())
    _pair(info, "eventCode", SCENARIO_CODE, notice.scenario.id)
    if envelope.expires_at:
        _add(info, "expires", cap_datetime(envelope.expires_at, library.timezone))
    _add(info, "senderName", library.municipality)
    _add(info, "headline", texts.headline)
    _add(info, "description", texts.description)
    _add(info, "instruction", texts.instruction)
    _add(info, "web", texts.web)
    _add(info, "contact", _contact(notice))
    _parameters(info, notice, texts.language)
    for code in envelope.areas:
        area = library.areas.areas[code]
        element = ET.SubElement(info, f"{{{CAP_NS}}}area")
        _add(element, "areaDesc", area.name)
        _pair(element, "geocode", AREA_CODE, code)
        for name, value in area.geocodes:
            _pair(element, "geocode", name, value)


def _note(notice: Notice, code: str) -> str | None:
    mode = notice.envelope.mode
    if mode == Mode.actual:
        return None
    return notice.envelope.exercise_name or f"{STATUS[mode]} {code}: {notice.scenario.cap_event}"


def build_alert(
    notice: Notice,
    library: ContentLibrary,
    settings: Settings,
    *,
    code: str,
    references: list[CapRef],
    incident: str,
) -> CapExport:
    """The notice published (or to be published) under `code` as a checked CAP alert.

    Raises CapInvalid when no language has a real text or the result fails any check: an
    alert that a receiver would reject or misread is never handed out.
    """
    identifier = cap_identifier(settings, code)
    texts, skipped = notice_texts(notice, library, notice_url(settings, code))
    if not texts:
        reasons = "; ".join(f"{tag}: {why}" for tag, why in skipped.items())
        raise CapInvalid([CapProblem("/alert/info", f"no language has a real text ({reasons})")])
    root = ET.Element(f"{{{CAP_NS}}}alert")
    _add(root, "identifier", identifier)
    _add(root, "sender", cap_sender(settings))
    _add(root, "sent", cap_datetime(notice.sent_at, library.timezone))
    _add(root, "status", STATUS[notice.envelope.mode])
    _add(root, "msgType", MSG_TYPE[notice.envelope.message_type])
    _add(root, "scope", "Public")
    _add(root, "note", _note(notice, code))
    _add(root, "references", " ".join(str(r) for r in references))
    _add(root, "incidents", incident)
    for text in texts:
        _info(root, notice, text, library)
    ET.indent(root)
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)
    check = check_cap(xml)
    if not check.valid:
        raise CapInvalid(check.problems)
    return CapExport(xml, identifier, code, [t.language for t in texts], skipped)


def _ref(record: NoticeRecord, library: ContentLibrary, settings: Settings) -> CapRef:
    sent = cap_datetime(stored_sent_at(record), library.timezone)
    return CapRef(cap_sender(settings), cap_identifier(settings, record.code), sent)


def export_record(
    session: Session, record: NoticeRecord, library: ContentLibrary, settings: Settings
) -> CapExport:
    """The CAP alert of a published notice, referencing every earlier message of its thread."""
    notice = load_stored_notice(record, library)
    first = session.get(NoticeRecord, record.references_id) if record.references_id else None
    thread = thread_of(session, first or record)
    earlier = thread[: [r.id for r in thread].index(record.id)]
    return build_alert(
        notice,
        library,
        settings,
        code=record.code,
        references=[_ref(r, library, settings) for r in earlier],
        incident=cap_identifier(settings, thread[0].code),
    )


def export_unpublished(
    session: Session,
    raw: dict[str, Any],
    notice: Notice,
    library: ContentLibrary,
    settings: Settings,
) -> CapExport:
    """The CAP alert a notice file would be published as (or was, if it already is)."""
    digest = content_hash(raw)
    published = find_duplicate(session, digest)
    if published is not None:
        return export_record(session, published, library, settings)
    code = next_code(session, digest)
    references: list[CapRef] = []
    incident = cap_identifier(settings, code)
    if notice.envelope.references:
        followed = find_public(session, notice.envelope.references)
        if followed is not None:
            first = (
                session.get(NoticeRecord, followed.references_id)
                if followed.references_id
                else None
            )
            thread = thread_of(session, first or followed)
            references = [_ref(r, library, settings) for r in thread]
            incident = cap_identifier(settings, thread[0].code)
    return build_alert(
        notice, library, settings, code=code, references=references, incident=incident
    )
