"""The ASGI application: routes of every page, static files, security headers, error pages."""

from __future__ import annotations

import logging
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailflow.runtime import Runtime
from mailflow.web import (address, api, auth, faces, health, help, paperless, settings, sharing, staff_mail,
                          staff_people, unsubscribe, viewer)
from mailflow.web.context import N_, WebState, plain_page
from mailflow.web.faces import STATIC

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


class SecurityHeaders:
    """Headers every answer carries; tokens live in URLs, so no Referer may ever leave the site."""

    def __init__(self, app: ASGIApp, https: bool) -> None:
        self.app = app
        self.headers = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                        (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]
        if https:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(rt: Runtime) -> Starlette:
    """The viewer and staff console for this runtime; nothing global, so tests can build several."""
    web = WebState.of(rt)
    routes = [*auth.routes, *viewer.routes, *api.routes, *sharing.routes, *settings.routes, *paperless.routes,
              *unsubscribe.routes, *staff_mail.routes, *staff_people.routes, *health.routes, *address.routes,
              *help.routes, *faces.routes, Mount("/static", StaticFiles(directory=STATIC), name="static")]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error, 500: _server_error})
    app.state.web = web
    app.add_middleware(SecurityHeaders, https=web.secure)
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return plain_page(request, 404, N_("Not found"),
                           N_("This page or document does not exist, or you may not see it."))
    if exc.status_code == 405:
        return plain_page(request, 405, N_("Not allowed"), N_("This page cannot be used this way."))
    return plain_page(request, exc.status_code, N_("Please check your request"),
                       N_("Something in the request is not right."))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("error serving %s %s", request.method, request.url.path, exc_info=exc)
    return plain_page(request, 500, N_("Something went wrong"),
                       N_("Something went wrong on our side. Please try again in a moment."))
