"""Email rendering: MJML compiled once per template and language, filled by Jinja2, translated by Babel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, pass_eval_context, select_autoescape
from jinja2.environment import TemplateModule
from jinja2.nodes import EvalContext
from markupsafe import Markup
from mjml import mjml2html

from mailflow import i18n
from mailflow.config import PROJECT_ROOT

EMAIL_TEMPLATES = PROJECT_ROOT / "templates" / "email"
_LAYOUT_SPACE = re.compile(r"[ \t\r\n]+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class MjmlLoader(FileSystemLoader):
    """Serves `.mjml` templates as the HTML MJML makes of them; Jinja tags pass through untouched."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if template.endswith(".mjml") and filename:
            source = _compile_mjml(filename, Path(filename).stat().st_mtime_ns)
        return source, filename, uptodate


@lru_cache(maxsize=64)
def _compile_mjml(filename: str, mtime: int) -> str:
    return mjml2html(Path(filename).read_text(encoding="utf-8"))


def make_environment(language: str, folder: Path = EMAIL_TEMPLATES) -> Environment:
    """Set up before any template is loaded, as Jinja asks: `Environment.globals` may change only until then."""
    env = Environment(
        loader=MjmlLoader(str(folder)),
        autoescape=select_autoescape(enabled_extensions=("html", "mjml"), default_for_string=False),
        undefined=StrictUndefined, auto_reload=False, trim_blocks=True, lstrip_blocks=True)
    env.globals["_"] = translator(i18n.translations(language).gettext)
    env.filters["money"] = lambda cents, currency="EUR": i18n.money(cents, language, currency)
    env.filters["longdate"] = lambda day: i18n.long_date(day, language)
    env.globals["language"] = language
    env.globals["colon"] = i18n.colon(language)
    env.filters["nested"] = i18n.nested
    return env


def translator(gettext: Callable[[str], str]) -> Callable[..., str]:
    """`_()` for templates, as Jinja's newstyle gettext does it: translated, trusted as markup when escaping,
    always %-formatted (with escaped values). One call, where the i18n extension's `_` nests three context
    calls: a digest says `_()` some thirty times. (The templates use no `{% trans %}`, so the extension, whose
    four more globals every render would copy, is not loaded.)"""

    @pass_eval_context
    def _(eval_ctx: EvalContext, message: str, **values: Any) -> str:
        text = gettext(message)
        return (Markup(text) if eval_ctx.autoescape else text) % values

    return _


class Renderer:
    """Holds one compiled environment per language; templates are compiled on first use only."""

    def __init__(self, folder: Path = EMAIL_TEMPLATES) -> None:
        self._folder = folder
        self._envs: dict[str, Environment] = {}
        self._globals: dict[str, dict[str, Any]] = {}
        self._templates: dict[tuple[str, str], Template] = {}

    def env(self, language: str) -> Environment:
        code = i18n.language(language)
        if code not in self._envs:
            self._envs[code] = make_environment(code, self._folder)
            self._globals[code] = dict(self._envs[code].globals)  # final: no template was loaded yet
        return self._envs[code]

    def template(self, language: str, name: str) -> Template:
        # Kept here too: Jinja's own lookup checks its loader and cache on every call.
        key = (language, name)
        if key not in self._templates:
            self._templates[key] = self.env(language).get_template(name)
        return self._templates[key]

    def render(self, name: str, language: str, **context: Any) -> Rendered:
        """The HTML part, and the text part with its subject: layout.txt keeps the subject block in a variable
        it exports, so one evaluation of the text template as a module gives both."""
        html = self._evaluate(language, f"{name}.html", context)
        text = self._evaluate(language, f"{name}.txt", context)
        subject = _LAYOUT_SPACE.sub(" ", str(text.subject)).strip()  # the template's line breaks, not no-break spaces
        return Rendered(subject=subject, text=str(text).strip() + "\n", html=str(html))

    def _evaluate(self, language: str, name: str, context: dict[str, Any]) -> TemplateModule:
        """The template evaluated as a module (`str()` is its output). `shared=True` takes the context as given:
        with the language's globals flattened into it once here, Jinja need not copy them into every render
        key by key through a ChainMap (~7 µs a render, two a mail)."""
        template = self.template(language, name)
        return template.make_module({**self._globals[i18n.language(language)], **context}, shared=True)
