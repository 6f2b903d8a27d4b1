"""Each issuer's look on the web: its colours as a small stylesheet and its logo, both from 'self' (CSP)."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse, Response
from starlette.routing import Route

from mailflow import issuers
from mailflow.errors import NotFound
from mailflow.outbound.mails import LOGO_TYPES
from mailflow.web.context import Ctx, page

STATIC = Path(__file__).resolve().parent / "static"

CACHE = "public, max-age=3600"


def _face(ctx: Ctx) -> issuers.Face:
    prefix = ctx.request.path_params["prefix"]
    face = issuers.face_of_numbers(ctx.rt.config, [f"{prefix}0"])
    if face.prefix != prefix:
        raise NotFound("no such issuer")
    return face


@page(auth=None)
def stylesheet(ctx: Ctx) -> Response:
    """The issuer's colour marks the pages; links and buttons take it only where it reads on white (Face.ink)."""
    face = _face(ctx)
    css = f":root {{ --accent: {face.colour}; --brand: {face.ink}; --brand-dark: {face.ink}; }}\n"
    return Response(css, media_type="text/css", headers={"Cache-Control": CACHE})


@page(auth=None)
def logo(ctx: Ctx) -> Response:
    face = _face(ctx)
    if face.logo_path is None:
        raise NotFound("this issuer has no logo")
    kind = LOGO_TYPES.get(face.logo_path.suffix.lower(), "png")
    return FileResponse(face.logo_path, media_type=f"image/{kind}", headers={"Cache-Control": CACHE})


async def favicon(request) -> Response:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml", headers={"Cache-Control": CACHE})


routes = [
    Route("/face/{prefix}.css", stylesheet, methods=["GET"]),
    Route("/face/{prefix}/logo", logo, methods=["GET"]),
    Route("/favicon.ico", favicon, methods=["GET"]),
]
