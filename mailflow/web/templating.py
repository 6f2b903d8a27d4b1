"""Server-rendered pages: one Jinja2 environment per language, autoescaped, translated by Babel."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from mailflow import i18n
from mailflow.config import PROJECT_ROOT

WEB_TEMPLATES = PROJECT_ROOT / "templates" / "web"
UI_LANGUAGES = ("fr", "nl", "en", "de")
LANGUAGE_NAMES = {"fr": "Français", "nl": "Nederlands", "en": "English", "de": "Deutsch"}


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; it is translated where it is shown."""
    return message


# The codes the console shows (statuses, kinds of mail and message, as stored), in words of the page's language.
LABELS = {
    "received": N_("received"), "processing": N_("processing"), "processed": N_("processed"),
    "staff": N_("for staff"), "ignored": N_("ignored"), "failed": N_("failed"), "queued": N_("queued"),
    "sending": N_("sending"), "deferred": N_("deferred"), "sent": N_("sent"), "suppressed": N_("suppressed"),
    "bounced": N_("bounced"),
    "pending": N_("pending"), "confirmed": N_("confirmed"), "declined": N_("declined"),
    "superseded": N_("superseded"), "expired": N_("expired"),
    "message": N_("message"), "command": N_("request"), "bounce": N_("bounce"), "auto_reply": N_("automatic reply"),
    "complaint": N_("spam complaint"), "notice": N_("notice"), "digest": N_("summary"),
    "summary": N_("import summary"), "duplicate": N_("duplicate"), "login": N_("login link"),
    "invitation": N_("invitation"), "answer": N_("answer"), "code": N_("activation code"),
    "paperless": N_("paperless change"), "primary_bounced": N_("bounced primary contact"),
    "address_confirm": N_("address confirmation"), "address_changed": N_("address changed"),
}


def make_environment(language: str, zone: str, folder: Path = WEB_TEMPLATES) -> Environment:
    """Pages in `language`; dates and times shown in `zone` ([scheduler] timezone)."""
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=select_autoescape(default=True),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True,
                      lstrip_blocks=True, auto_reload=False)
    env.install_gettext_translations(i18n.translations(language), newstyle=True)
    env.filters["money"] = lambda cents, currency="EUR": i18n.money(cents, language, currency)
    env.filters["day"] = lambda day: _day(day, language, ZoneInfo(zone))
    env.filters["moment"] = lambda when: _moment(when, language, zone)
    env.filters["nested"] = i18n.nested
    env.globals.update(lang=language, language_names=LANGUAGE_NAMES, ui_languages=UI_LANGUAGES,
                       colon=i18n.colon(language), label=lambda code: _label(code, language))
    env.globals["m"] = env.get_template("macros.html").module  # form helpers, in every page
    return env


def _label(code: str | None, language: str) -> str:
    """A stored code in words; one this table does not know is shown as it is."""
    return i18n.gettext(language, LABELS[code]) if code in LABELS else code or ""


def _day(value: datetime | date, language: str, zone: ZoneInfo) -> str:
    if isinstance(value, datetime):  # stored instants are UTC; people read their local date
        value = value.replace(tzinfo=value.tzinfo or timezone.utc).astimezone(zone).date()
    return format_date(value, "medium", locale=i18n.locale_for(language))


def _moment(when: datetime | date | None, language: str, zone: str) -> str:
    if when is None:
        return ""
    if isinstance(when, datetime):
        return i18n.moment(when.replace(tzinfo=when.tzinfo or timezone.utc), language, zone)
    return format_date(when, "medium", locale=i18n.locale_for(language))


class Pages:
    """Renders `templates/web/NAME` in a language; environments are built on first use."""

    def __init__(self, zone: str, folder: Path = WEB_TEMPLATES) -> None:
        self._zone = zone
        self._folder = folder
        self._envs: dict[str, Environment] = {}

    def env(self, language: str) -> Environment:
        code = i18n.language(language)
        if code not in self._envs:
            self._envs[code] = make_environment(code, self._zone, self._folder)
        return self._envs[code]

    def html(self, name: str, language: str, **context: Any) -> str:
        return self.env(language).get_template(name).render(context)

    def response(self, name: str, language: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.html(name, language, **context), status_code=status)
