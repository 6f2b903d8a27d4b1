"""Email rendering: MJML compiled once per template and language, filled by Jinja2, translated by Babel."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape
from mjml import mjml2html

from mailflow import i18n
from mailflow.config import PROJECT_ROOT

EMAIL_TEMPLATES = PROJECT_ROOT / "templates" / "email"


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
    env = Environment(
        loader=MjmlLoader(str(folder)),
        autoescape=select_autoescape(enabled_extensions=("html", "mjml"), default_for_string=False),
        extensions=["jinja2.ext.i18n"], undefined=StrictUndefined, auto_reload=False,
        trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(i18n.translations(language), newstyle=True)
    env.filters["money"] = lambda cents, currency="EUR": i18n.money(cents, language, currency)
    env.filters["longdate"] = lambda day: i18n.long_date(day, language)
    env.globals["language"] = language
    return env


class Renderer:
    """Holds one compiled environment per language; templates are compiled on first use only."""

    def __init__(self, folder: Path = EMAIL_TEMPLATES) -> None:
        self._folder = folder
        self._envs: dict[str, Environment] = {}

    def env(self, language: str) -> Environment:
        code = i18n.language(language)
        if code not in self._envs:
            self._envs[code] = make_environment(code, self._folder)
        return self._envs[code]

    def template(self, language: str, name: str) -> Template:
        return self.env(language).get_template(name)

    def render(self, name: str, language: str, **context: Any) -> Rendered:
        text_template = self.template(language, f"{name}.txt")
        html = self.template(language, f"{name}.html").render(context)
        subject = "".join(text_template.blocks["subject"](text_template.new_context(context))).strip()
        return Rendered(subject=" ".join(subject.split()), text=text_template.render(context).strip() + "\n",
                        html=html)
