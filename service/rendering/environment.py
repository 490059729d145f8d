"""The Jinja2 environment for message templates: sandboxed, autoescaped, strict, gettext-aware.

Templates are municipality-editable, so they render in the sandbox; user text reaches them only
as variables, so `{{ }}` typed into a notice is shown literally, never evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.lists import format_list
from babel.numbers import format_decimal
from jinja2 import FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

# Escaping is on by default; only templates that produce plain text (SMS, subject lines) are
# exempt, so a new or renamed HTML template can never render user text unescaped.
TEXT_SUFFIXES = ("sms.j2", "subject.j2", ".txt.j2")


def _autoescape(name: str | None) -> bool:
    return not (name and name.endswith(TEXT_SUFFIXES))


def _local(context: Context, value: datetime) -> datetime:
    tz: ZoneInfo = context["tz"]
    return value.astimezone(tz)


@pass_context
def _time(context: Context, value: datetime) -> str:
    pattern = context["lang"].time_pattern or "short"
    return format_time(_local(context, value), pattern, locale=context["babel_locale"])


@pass_context
def _clock(context: Context, value: datetime) -> str:
    """A time as easy-read says it: a whole hour alone ("klockan 14") where the language can."""
    local = _local(context, value)
    lang = context["lang"]
    pattern = lang.hour_pattern if lang.hour_pattern and local.minute == 0 else None
    pattern = pattern or lang.time_pattern or "short"
    return format_time(local, pattern, locale=context["babel_locale"])


@pass_context
def _date(context: Context, value: date | datetime) -> str:
    if isinstance(value, datetime):
        value = _local(context, value).date()
    return format_date(value, "long", locale=context["babel_locale"])


@pass_context
def _day(context: Context, value: date | datetime) -> str:
    """Weekday and date without the year, e.g. 'måndag 23 november'."""
    if isinstance(value, datetime):
        value = _local(context, value).date()
    pattern = context["lang"].day_pattern or "EEEE d MMMM"
    return format_date(value, pattern, locale=context["babel_locale"])


@pass_context
def _datetime(context: Context, value: datetime) -> str:
    pattern = context["lang"].datetime_pattern or "medium"
    return format_datetime(_local(context, value), pattern, locale=context["babel_locale"])


@pass_context
def _number(context: Context, value: float) -> str:
    return format_decimal(value, locale=context["babel_locale"])


_ITEM = re.compile("\ue000(\\d+)\ue001")  # private-use brackets around an item's number


@pass_context
def _join(context: Context, items: Iterable[Any]) -> str:
    """A locale's list: 'A, B och C' in Swedish, 'A, B and C' in English."""
    values = list(items)
    lang = context["lang"]
    if lang.list_and and lang.list_separator and values:
        # Items stay as written: the conjunction is a word of its own between them.
        sep, conj = lang.list_separator, f" {lang.list_and} "
        if context.eval_ctx.autoescape:
            items_shown = [escape(i) for i in values]
            head = escape(sep).join(items_shown[:-1])
            return escape(conj).join([head, items_shown[-1]]) if head else items_shown[-1]
        texts = [str(i) for i in values]
        return conj.join([sep.join(texts[:-1]), texts[-1]]) if len(texts) > 1 else texts[0]
    if not context.eval_ctx.autoescape:
        return format_list([str(i) for i in values], locale=context["babel_locale"])
    # Joining in Python bypasses autoescape, so each item is escaped on its own (keeping the
    # markup an item brings, such as the isolation of right-to-left output) and the locale's
    # words between them are escaped as text.
    shown = [escape(i) for i in values]
    numbered = [f"\ue000{n}\ue001" for n in range(len(values))]
    pattern = format_list(numbered, locale=context["babel_locale"])
    parts = _ITEM.split(pattern)
    # split() with one group gives text, item number, text, item number, ..., text.
    return Markup("").join(
        shown[int(part)] if index % 2 else escape(part) for index, part in enumerate(parts)
    )


def _display_url(url: str) -> str:
    """A web address as people read it aloud: no scheme, no trailing slash."""
    return url.removeprefix("https://").removeprefix("http://").rstrip("/")


def _phone_link(phone: str) -> Markup:
    """A phone number people can call with one tap (tel: with its digits), shown as written."""
    text = str(phone)
    digits = "+" if text.lstrip("\u2066\u2067\u2068\u2069\u200e\u200f").startswith("+") else ""
    digits += "".join(c for c in text if c.isascii() and c.isdigit())
    if not digits.strip("+"):
        return escape(phone)
    return Markup('<a href="tel:{}">{}</a>').format(digits, phone)


FILTERS: dict[str, Callable[..., Any]] = {
    "time": _time,
    "clock": _clock,
    "date": _date,
    "day": _day,
    "datetime": _datetime,
    "number": _number,
    "join_list": _join,
    "display_url": _display_url,
    "phone_link": _phone_link,
}


def gettext_callables(
    gettext: Callable[[str], str], ngettext: Callable[[str, str, int], str]
) -> dict[str, Callable[..., str]]:
    """Newstyle gettext functions for one render, as Jinja's i18n extension would make them."""

    @pass_context
    def _gettext(context: Context, message: str, **variables: Any) -> str:
        text: str = gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    @pass_context
    def _ngettext(context: Context, singular: str, plural: str, n: int, **variables: Any) -> str:
        variables.setdefault("num", n)
        text: str = ngettext(singular, plural, n)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return {"gettext": _gettext, "_": _gettext, "ngettext": _ngettext}


def _placeholder_gettext(message: str) -> str:
    return message


def _placeholder_ngettext(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


@lru_cache
def make_environment(templates_dir: Path) -> SandboxedEnvironment:
    """The shared environment; per-render gettext callables come in through the context."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader(templates_dir),
        autoescape=_autoescape,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    # newstyle: `_("%(n)s", n=x)` formats inside gettext and escapes the variables, so user
    # text cannot inject markup through a translation. The real callables, which also record
    # each message's translation status, are passed per render (see rendering.service).
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _placeholder_gettext, _placeholder_ngettext, newstyle=True
    )
    env.filters.update(FILTERS)
    return env
