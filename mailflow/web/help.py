"""/help in the visitor's language: what the viewer does, every reply command of the registry, the FAQ's answers."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response
from starlette.routing import Route

from mailflow import activation, i18n
from mailflow.inbound.commands import COMMANDS, FREQUENCY_TAGS, Command, Takes
from mailflow.models import LANGUAGES
from mailflow.web.context import Ctx, page

EXAMPLE_DOCUMENT = "F2026-0042"


@dataclass(frozen=True)
class ShownCommand:
    """A command as the help page lists it: how to write it here, an example, and in the other languages."""

    example: str
    help: str
    elsewhere: dict[str, str]  # language → example


def example(command: Command, language: str) -> str:
    """The command as a person would type it in `language`, with arguments where it takes some."""
    if command.takes is Takes.FREQUENCY:
        return " / ".join(command.keyword(language, (tag,)) for tag in FREQUENCY_TAGS)
    return command.keyword(language, (EXAMPLE_DOCUMENT,) if command.takes is Takes.DOCUMENTS else ())


def shown(language: str) -> list[ShownCommand]:
    """Every command of the registry, never a second list of them."""
    # translated here, as plain text: the help lines hold "<number>", which a template's _() would pass as markup
    return [ShownCommand(example(c, language), i18n.gettext(language, c.help),
                         {other: example(c, other) for other in LANGUAGES if other != language})
            for c in COMMANDS.values()]


@page(auth=None)
def help_page(ctx: Ctx) -> Response:
    words = {str(name): example(command, ctx.language) for name, command in COMMANDS.items()}
    return ctx.render("help.html", commands=shown(ctx.language), code_weeks=activation.LIFETIME.days // 7,
                      years=ctx.rt.config.retention.years, words=words)


routes = [Route("/help", help_page, methods=["GET"])]
