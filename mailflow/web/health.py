"""Operations endpoints: GET /healthz for load balancers, GET /metrics for Prometheus."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mailflow import observability
from mailflow.db import thread_connection
from mailflow.web.context import WebState


def _health(web: WebState) -> Response:
    with thread_connection(web.rt.db):
        found = observability.health(web.rt)
    return JSONResponse(found.detail, status_code=200 if found.ok else 503, headers={"Cache-Control": "no-store"})


def _metrics(web: WebState) -> Response:
    with thread_connection(web.rt.db):
        body = generate_latest(observability.registry(web.rt))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def healthz(request: Request) -> Response:
    return await run_in_threadpool(_health, request.app.state.web)


async def metrics(request: Request) -> Response:
    return await run_in_threadpool(_metrics, request.app.state.web)


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/metrics", metrics, methods=["GET"])]
