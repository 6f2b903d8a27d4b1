"""The documents page: filters, sorting, pages, bold unviewed rows, PDF downloads and duplicates by mail."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import FileResponse, Response
from starlette.routing import Route

from mailflow import actions, document_search, documents, storage
from mailflow.clock import naive_utc
from mailflow.document_search import DocumentFilter, DocumentPage
from mailflow.errors import NotFound, RateLimited, ValidationError
from mailflow.models import Customer, Document, User, View
from mailflow.runtime import Runtime
from mailflow.accounts import PORTAL, customers_of
from mailflow.web.context import N_, Ctx, page

FIELD_ERRORS = {
    "date_from": N_("The “from” date must be a date written as YYYY-MM-DD."),
    "date_to": N_("The “to” date must be a date written as YYYY-MM-DD."),
    "date_range": N_("The “from” date is after the “to” date."),
    "number": N_("Type some letters or digits of the document number."),
    "type": N_("The type must be invoice or credit note."),
    "amount_min": N_("The minimum amount must be a number such as 1234.56: zero or more, at most two decimals."),
    "amount_max": N_("The maximum amount must be a number such as 1234.56: zero or more, at most two decimals."),
    "amount_range": N_("The minimum amount is larger than the maximum amount."),
    "customer": N_("Choose one of your customer numbers."),
    "sort": N_("Documents can be sorted by date, number, type, customer number or amount."),
    "order": N_("The sort order must be asc or desc."),
    "page": N_("The page must be a whole number from 1 to 2000."),
}
COLUMNS = (("date", N_("Date")), ("number", N_("Number")), ("type", N_("Type")),
           ("customer", N_("Customer number")), ("amount", N_("Amount incl. VAT")))


def field_error(ctx: Ctx, exc: ValidationError) -> str:
    return ctx._(FIELD_ERRORS.get(exc.field or "", N_("Something in the request is not right.")))


def find(user: User, params) -> tuple[list[Customer], DocumentPage]:
    """The user's customer numbers and the page of documents `params` asks for."""
    customers = customers_of(user, channels=PORTAL)
    return customers, search(user.id, {c.id: c.number for c in customers}, params)


def search(user_id: int, visible: dict[int, str], params) -> DocumentPage:
    """The page of documents `params` asks for among the `visible` customer numbers (id → number)."""
    flt = document_search.parse(params)
    return document_search.search(user_id, document_search.scope(visible, flt), flt)


@page()
def documents_page(ctx: Ctx) -> Response:
    raw = {key: value for key, value in ctx.request.query_params.items() if key in document_search.FIELDS}
    try:
        customers, result = find(ctx.user, ctx.request.query_params)
    except ValidationError as exc:
        return _render(ctx, 400, customers_of(ctx.user, channels=PORTAL), raw, None, DocumentFilter(), exc)
    return _render(ctx, 200, customers, raw, result, result.filter, None)


def _render(ctx: Ctx, status: int, customers: list[Customer], raw: dict[str, str], result: DocumentPage | None,
            flt: DocumentFilter, exc: ValidationError | None) -> Response:
    link = _linker(flt)
    back = "/documents" + (f"?{ctx.request.url.query}" if ctx.request.url.query else "")
    return ctx.render("documents.html", status, customers=customers, raw=raw, result=result, flt=flt,
                      error=field_error(ctx, exc) if exc else None, error_field=exc.field if exc else None,
                      columns=COLUMNS, link=link, sort_href=lambda column: link(**sort_link(flt, column)),
                      back=back)


def _linker(flt: DocumentFilter):
    def link(**changes: object) -> str:
        query = urlencode(flt.params(**changes))
        return f"/documents?{query}" if query else "/documents"
    return link


def sort_link(flt: DocumentFilter, column: str) -> dict[str, object]:
    """Where a column header leads: sorted by it, or reversed when it already is."""
    if flt.sort == column:
        order = "asc" if flt.order == "desc" else "desc"
    else:
        order = document_search.default_order(column)
    return {"sort": column, "order": order, "page": 1}


def record_view(rt: Runtime, user: User, document: Document) -> None:
    """The first opening counts; later ones change nothing."""
    View.insert(user=user, document=document, viewed_at=naive_utc(rt.now())).on_conflict_ignore().execute()


def download_name(document: Document) -> str:
    # document numbers are letters, digits and / _ . - only; a slash would start a path
    return f"{document.number.replace('/', '-')}.pdf"


@page()
def pdf(ctx: Ctx) -> Response:
    document = documents.get_visible(ctx.user, ctx.request.path_params["document_id"], PORTAL)
    path = storage.pdf_path(ctx.rt.config, document.pdf_sha256)
    if not path.is_file():
        raise NotFound("the PDF of this document is missing from storage")
    record_view(ctx.rt, ctx.user, document)
    response = FileResponse(path, media_type="application/pdf", filename=download_name(document))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@page()
def duplicate(ctx: Ctx) -> Response:
    back = ctx.field("back")
    back = back if back.startswith("/documents") and "//" not in back else "/documents"
    try:
        request = actions.duplicate(ctx.rt, ctx.user, ctx.request.path_params["document_id"], via="web")
    except RateLimited:
        return ctx.redirect(back, ctx._("You already asked for several duplicates of this document today. "
                                        "Please try again tomorrow."), kind="error")
    number = request.document.number
    return ctx.redirect(back, ctx._("A duplicate of %(number)s is on its way to %(email)s.", number=number,
                                    email=ctx.user.email))


routes = [
    Route("/documents", documents_page, methods=["GET"]),
    Route("/documents/{document_id:int}/pdf", pdf, methods=["GET"]),
    Route("/documents/{document_id:int}/duplicate", duplicate, methods=["POST"]),
]
