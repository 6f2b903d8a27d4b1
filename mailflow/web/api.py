"""JSON for tools: the document list (session or personal API token) and publishing (issuer API key)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from mailflow import document_search, documents, paperless, storage
from mailflow.accounts import PORTAL
from mailflow.db import database, thread_connection
from mailflow.document_search import DocumentPage
from mailflow.documents import DocumentInput
from mailflow.errors import MailflowError, NotFound, PermissionDenied, ValidationError
from mailflow.issuers import issuer_by_api_key, issuer_for_number
from mailflow.models import Issuer, User
from mailflow.tokens import digest
from mailflow.web import sessions, viewer
from mailflow.web.context import WebState

MAX_UPLOAD = storage.MAX_PDF_BYTES + 1_048_576
TOKEN_PREFIX = "mf_"
METADATA = ("customer", "number", "type", "date", "amount")


def error(status: int, message: str, field: str | None = None, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status, headers=headers or None)


def from_exception(exc: MailflowError) -> JSONResponse:
    return error(exc.http_status, exc.message, exc.field)


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def new_api_token(user: User) -> str:
    """A personal token for the user's tools, shown once; a new one replaces the old."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    User.update(api_token_hash=digest(raw)).where(User.id == user.id).execute()
    return raw


def api_user(web: WebState, request: Request) -> User | None:
    """The caller: a personal API token when one is sent, else the viewer session."""
    token = bearer(request)
    if token is not None:
        return User.get_or_none(User.api_token_hash == digest(token), User.merged_into.is_null())
    session = sessions.load(web.rt, request.cookies.get(web.session_cookie))
    return session.user if session else None


def api_user_id(web: WebState, request: Request) -> int | None:
    """The caller's id, as `api_user` finds them, for requests that need nothing else of them."""
    token = bearer(request)
    if token is not None:
        return token_user_id(token)
    session = sessions.load(web.rt, request.cookies.get(web.session_cookie))
    return session.user_id if session else None


def token_user_id(token: str) -> int | None:
    """The id of the unmerged user holding this personal API token. Written out: peewee building and
    reading a whole User cost more than the rest of a small listing."""
    sql = f'SELECT "id" FROM "user" WHERE "api_token_hash" = {database.param} AND "merged_into_id" IS NULL'
    row = database.execute_sql(sql, [digest(token)]).fetchone()
    return row[0] if row else None


UNAUTHENTICATED = "send a viewer session cookie or Authorization: Bearer <your API token>"
ISSUER_KEY = "a valid issuer API key is required (X-Api-Key header)"


async def list_documents(request: Request) -> Response:
    return await run_in_threadpool(_list, request.app.state.web, request)


def _list(web: WebState, request: Request) -> Response:
    with thread_connection(web.rt.db):
        user_id = api_user_id(web, request)
        if user_id is None:
            return error(401, UNAUTHENTICATED, **{"WWW-Authenticate": 'Bearer realm="mailflow"'})
        try:
            found = viewer.search(user_id, document_search.visible_numbers(user_id), request.query_params)
        except ValidationError as exc:
            return from_exception(exc)
        return JSONResponse(page_json(found, web.rt.config.web.base_url), headers={"Cache-Control": "no-store"})


def page_json(found: DocumentPage, base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    rows = [{"id": r.id, "number": r.number, "type": r.type, "date": r.date.isoformat(),
             "customer": r.customer_number, "amount": f"{r.amount_cents // 100}.{r.amount_cents % 100:02d}",
             "currency": r.currency, "viewed": r.viewed, "pdf": f"{base}/api/documents/{r.id}/pdf"}
            for r in found.rows]
    return {"documents": rows, "page": found.page, "per_page": found.per_page, "has_next": found.has_next,
            "filter": found.filter.params()}


async def document_pdf(request: Request) -> Response:
    return await run_in_threadpool(_pdf, request.app.state.web, request)


def _pdf(web: WebState, request: Request) -> Response:
    with thread_connection(web.rt.db):
        user = api_user(web, request)
        if user is None:
            return error(401, UNAUTHENTICATED, **{"WWW-Authenticate": 'Bearer realm="mailflow"'})
        try:
            document = documents.get_visible(user, request.path_params["document_id"], PORTAL)
            path = storage.pdf_path(web.rt.config, document.pdf_sha256)
            if not path.is_file():
                raise NotFound("the PDF of this document is missing from storage")
        except NotFound as exc:
            return from_exception(exc)
        viewer.record_view(web.rt, user, document)
        return FileResponse(path, media_type="application/pdf", filename=viewer.download_name(document))


async def publish_document(request: Request) -> Response:
    """POST /api/documents: multipart with `metadata` (JSON) and `pdf` (the file), like `document add`."""
    web: WebState = request.app.state.web
    key = request.headers.get("x-api-key") or bearer(request) or ""
    issuer = await run_in_threadpool(_issuer, web, key)
    if issuer is None:
        return error(401, ISSUER_KEY, **{"WWW-Authenticate": 'Bearer realm="mailflow-issuers"'})
    if int(request.headers.get("content-length") or 0) > MAX_UPLOAD:
        return error(413, f"the upload is larger than {MAX_UPLOAD // 1_048_576} MB")
    try:
        metadata, pdf, name = await _read_upload(request)
    except HTTPException as exc:
        return error(exc.status_code, str(exc.detail))
    return await run_in_threadpool(_publish, web, issuer, metadata, pdf, name)


def _issuer(web: WebState, key: str) -> Issuer | None:
    with thread_connection(web.rt.db):
        return issuer_by_api_key(key)


async def _read_upload(request: Request) -> tuple[str | None, bytes | None, str]:
    async with request.form(max_files=2, max_fields=20) as form:
        metadata, upload = form.get("metadata"), form.get("pdf")
        if isinstance(metadata, UploadFile):
            metadata = (await metadata.read()).decode("utf-8", "replace")
        if not isinstance(upload, UploadFile):
            return metadata, None, "document.pdf"
        return metadata, await upload.read(), upload.filename or "document.pdf"


def _publish(web: WebState, issuer: Issuer, metadata: str | None, pdf: bytes | None, name: str) -> Response:
    with thread_connection(web.rt.db):
        try:
            item = _document_input(issuer, metadata, pdf, name)
            document = documents.publish(web.rt, item, actor=f"api:{issuer.prefix}")
        except MailflowError as exc:
            return from_exception(exc)
        body = {"id": document.id, "number": document.number, "customer": document.customer.number,
                "type": document.type, "date": document.date.isoformat(),
                "amount": f"{document.amount_cents // 100}.{document.amount_cents % 100:02d}"}
        return JSONResponse(body, status_code=201)


def _document_input(issuer: Issuer, metadata: str | None, pdf: bytes | None, name: str) -> DocumentInput:
    fields = _metadata(metadata)
    if issuer_for_number(fields["customer"].strip().upper()).id != issuer.id:
        raise PermissionDenied(f"customer number {fields['customer']} does not belong to issuer {issuer.prefix}",
                               field="customer")
    return DocumentInput(fields["customer"], fields["number"], fields["type"], fields["date"], fields["amount"],
                         pdf, name)


def _metadata(text: str | None) -> dict[str, str]:
    try:
        data = json.loads(text or "")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValidationError("the metadata part must be a JSON object with customer, number, type, date "
                              "and amount", field="metadata")
    missing = [key for key in METADATA if not isinstance(data.get(key), (str, int, float)) or
               isinstance(data.get(key), bool)]
    if missing:
        raise ValidationError(f"metadata is missing {', '.join(missing)} (text values)", field=missing[0])
    return {key: str(data[key]) for key in METADATA}


async def paperless_list(request: Request) -> Response:
    """GET /api/paperless[?since=…]: the issuer's customer numbers with their delivery (electronic or paper)."""
    return await run_in_threadpool(_paperless, request.app.state.web, request)


def _paperless(web: WebState, request: Request) -> Response:
    with thread_connection(web.rt.db):
        key = request.headers.get("x-api-key") or bearer(request) or ""
        issuer = issuer_by_api_key(key)
        if issuer is None:
            return _not_an_issuer(key)
        try:
            since = request.query_params.get("since")
            moment = paperless.parse_since(since, web.rt.config.scheduler.timezone) if since else None
        except ValidationError as exc:
            return from_exception(exc)
        rows = [row.values() for row in paperless.rows(issuer, moment)]
        body = {"issuer": issuer.prefix, "since": moment.isoformat() if moment else None, "customers": rows}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})


def _not_an_issuer(key: str) -> Response:
    """403 for a person's own API token (known, but not allowed this), 401 for anything else."""
    if key and token_user_id(key) is not None:
        return error(403, "a personal API token cannot read the issuer's paperless list; use the issuer API key")
    return error(401, ISSUER_KEY, **{"WWW-Authenticate": 'Bearer realm="mailflow-issuers"'})


routes = [
    Route("/api/paperless", paperless_list, methods=["GET"]),
    Route("/api/documents", list_documents, methods=["GET"]),
    Route("/api/documents", publish_document, methods=["POST"]),
    Route("/api/documents/{document_id:int}/pdf", document_pdf, methods=["GET"]),
]
