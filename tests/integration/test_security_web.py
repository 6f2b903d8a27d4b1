"""Web defences proved with real requests: CSRF on every state-changing route, IDOR on every id route,
session fixation, open redirects and cookie flags. Routes are read from the app itself, so a new route that
is not covered here fails a test instead of being forgotten."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import pytest

from mailflow import activation
from mailflow.accounts import add_staff
from mailflow.inbound.store import store_raw
from mailflow.models import Customer, Document, Outbox, Suppression, User
from mailflow.web.api import new_api_token
from mailflow.web.app import create_app
from tests.support import factories
from tests.support.security import PAUL, routes, snapshot, web_client
from tests.support.web import BASE, csrf, csrf_of, link_token

QUESTION = (b"From: Paul Renard <paul@clinic.example>\r\nTo: support@reply.mailflow.example\r\n"
            b"Subject: Question\r\nMessage-ID: <q1@clinic.example>\r\n\r\nHello\r\n")
TOKEN_ROUTES = {"/auth/{token}", "/unsubscribe/{token}",  # signed or random tokens, proved in test_security_tokens
                "/address/{token}", "/address/undo/{token}",  # random, single use: test_address_change
                "/face/{prefix}.css", "/face/{prefix}/logo"}  # an issuer's public look, no one's data
# The only POSTs without the form token, and why they need none.
CSRF_EXEMPT = {
    ("POST", "/unsubscribe/{token}"): "RFC 8058 one-click: mailbox providers POST without any session; the "
                                      "signed unsubscribe token is the authority and its only effect is 'off'",
    ("POST", "/api/documents"): "authenticated only by the issuer key in a request header, never by a cookie, "
                                "so no other site can make a browser send it",
}


@dataclass
class World:
    """Marie: primary of X and X2, staff; Jan: shared on X only; Paul: primary of Y, no staff."""

    marie: User
    jan: User
    paul: User
    x: Customer
    x2: Customer
    doc_x: Document
    doc_x2: Document
    ids: dict[str, int | str]


@pytest.fixture
def app(rt):
    return create_app(rt)


@pytest.fixture
def world(rt) -> World:
    x = factories.customer(rt, "DL2123456")
    x2 = factories.customer(rt, "DL2654321", company="Garage Dupont Liège")
    factories.share(rt, "DL2123456")
    y = factories.customer(rt, "DL5000001", PAUL, company="Clinique Renard")
    doc_x, doc_x2 = factories.document(rt, "DL2123456"), factories.document(rt, "DL2654321", "F2026-0043")
    factories.document(rt, "DL5000001", "F2026-0100")
    marie = add_staff(rt, factories.MARIE)
    activation.issue(rt, x)
    Customer.update(paperless=True).where(Customer.id == x.id).execute()
    message = store_raw(rt, QUESTION, "smtp", PAUL.email, ["support@reply.mailflow.example"])
    failed = Outbox.select().order_by(Outbox.id).first()
    Outbox.update(status="failed").where(Outbox.id == failed.id).execute()
    suppression = Suppression.create(email="gone@example.be", score=3.0, suppressed_at=doc_x.created_at)
    jan, paul = factories.JAN_user(), y.primary_user
    ids = {"document_id": doc_x.id, "user_id": jan.id, "customer_id": x.id, "message_id": message.id,
           "outbox_id": failed.id, "suppression_id": suppression.id, "prefix": "DL2"}
    return World(marie, jan, paul, x, x2, doc_x, doc_x2, ids)


def fill(path: str, values: dict[str, object]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        assert name in values, f"no test value for the path parameter {name!r} of {path}: add one"
        return str(values[name])
    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def logged_in(app, rt, user: User, ip: str = "198.51.100.7"):
    web = web_client(app, ip)
    raw = link_token(rt, user)
    answer = web.post(f"/auth/{raw}", data={"csrf_token": csrf_of(web.get(f"/auth/{raw}").text)})
    assert answer.status_code == 303, answer.text
    return web


def forms(world: World) -> dict[str, dict[str, str]]:
    """What each POST would send to succeed, so a 403 can only come from the missing token."""
    return {"/login": {"email": world.marie.email},
            "/sharing/add": {"email": "new@example.be", "first_name": "New", "language": "en",
                             "customer": str(world.x.id)},
            "/sharing/{user_id:int}": {"customer": str(world.x2.id)},
            "/settings/profile": {"first_name": "M", "last_name": "D", "language": "en"},
            "/settings/frequency": {f"frequency_{world.x.id}": "off"},
            "/settings/email": {"email": "marie.new@example.be"},
            "/sharing/{user_id:int}/email": {"email": "jan.new@example.be"},
            "/staff/users/{user_id:int}/email": {"email": "jan.new@example.be"},
            "/activation": {"code": "7KQ4-M2ZD-9HXA"},
            "/staff/inbound/{message_id:int}/answer": {"body": "Hello"},
            "/staff/merge": {"keep": world.marie.email, "other": world.jan.email}}


def state_changing(rt) -> list[tuple[str, str]]:
    return [(method, path) for method, path in routes(rt) if method not in ("GET", "HEAD", "OPTIONS")]


def test_every_state_changing_route_refuses_a_missing_or_wrong_form_token(rt, app, world):
    values = world.ids | {"token": link_token(rt, world.jan)}
    other_session = csrf(logged_in(app, rt, world.paul, "203.0.113.9"), "/settings")
    anonymous_token = csrf(web_client(app), "/login")
    checked = [(method, path) for method, path in state_changing(rt) if (method, path) not in CSRF_EXEMPT]
    # wrong tokens: none, another browser's, and one planted the way a sibling subdomain could (no __Host-)
    clients = {logged_in(app, rt, world.marie): other_session, web_client(app): anonymous_token}
    for web in clients:
        web.cookies.set("mailflow_csrf", "a" * 32, domain="portal.example.test")
    before = snapshot()
    for method, path in checked:
        url, form = fill(path, values), forms(world).get(path, {})
        for web, someone_elses in clients.items():
            for token in (None, someone_elses, "a" * 32):
                sent = form | ({"csrf_token": token} if token else {})
                answer = web.request(method, url, data=sent)
                assert answer.status_code == 403, (method, path, token, answer.status_code)
                assert "form has expired" in answer.text or "formulaire a expiré" in answer.text
    assert snapshot() == before, "a POST without a valid form token changed data"
    for method, path in checked:  # and each refusal came from the token: with it, the same request goes through
        url, form = fill(path, values), forms(world).get(path, {})
        control = logged_in(app, rt, world.marie)
        token = csrf(control, "/settings")
        assert control.request(method, url, data=form | {"csrf_token": token}).status_code != 403, path
    assert len(checked) >= 20  # every POST of the viewer and the staff console


def test_the_csrf_exemptions_are_the_documented_ones_and_hold_without_cookies(rt, app, world):
    assert set(CSRF_EXEMPT) <= set(state_changing(rt))
    marie = logged_in(app, rt, world.marie)
    before = snapshot()
    # the API never reads the session cookie: a logged-in browser cannot publish
    assert marie.post("/api/documents", files={"metadata": (None, "{}")}).status_code == 401
    # a one-click POST needs a signed unsubscribe token; a session and anything else do nothing
    reply_token = rt.reply_token(world.marie.id, world.x.id, "notice")
    for token in (reply_token, "x" * 34, str(world.marie.id)):
        answer = marie.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 410
    assert snapshot() == before


# GETs that write on purpose, and why that is harmless when another site makes a browser send them.
GET_WRITES = {"/documents/{document_id:int}/pdf": "marks the user's own document as viewed",
              "/api/documents/{document_id:int}/pdf": "marks the user's own document as viewed"}


def test_no_get_changes_anything_so_samesite_lax_is_enough(rt, app, world):
    link, unsubscribe = link_token(rt, world.jan), rt.reply_token(world.jan.id, world.x.id, "unsubscribe")
    marie, anonymous = logged_in(app, rt, world.marie), web_client(app)
    before = snapshot()
    for method, path in routes(rt):
        if method != "GET" or path in GET_WRITES:
            continue
        token = unsubscribe if path.startswith("/unsubscribe/") else link
        url = fill(path, world.ids | {"token": token})
        for web in (marie, anonymous):
            assert web.get(url).status_code < 500, url
    assert snapshot() == before


# Every route with an id in its path: who tries it on someone else's id, and what they must get.
IDOR = {
    "/documents/{document_id:int}/pdf": [("GET", "paul", "doc_x", 404), ("GET", "jan", "doc_x2", 404)],
    "/documents/{document_id:int}/duplicate": [("POST", "paul", "doc_x", 404), ("POST", "jan", "doc_x2", 404)],
    "/api/documents/{document_id:int}/pdf": [("GET", "paul", "doc_x", 404), ("GET", "jan", "doc_x2", 404),
                                             ("BEARER", "paul", "doc_x", 404)],
    "/sharing/{user_id:int}": [("POST", "paul", "jan", 404), ("POST", "jan", "jan", 403)],
    "/sharing/{user_id:int}/remove": [("POST", "paul", "jan", 404), ("POST", "jan", "jan", 403)],
    "/sharing/{user_id:int}/email": [("POST", "paul", "jan", 404), ("POST", "jan", "jan", 403)],
    "/primary-contact/{customer_id:int}": [("GET", "paul", "x", 404), ("POST", "paul", "x", 404)],
    "/activation/{customer_id:int}/opt-out": [("POST", "paul", "x", 404), ("POST", "jan", "x", 404)],
    "/staff/inbound/{message_id:int}": [("GET", "paul", "message", 403)],
    "/staff/inbound/{message_id:int}/raw": [("GET", "paul", "message", 403)],
    "/staff/inbound/{message_id:int}/reprocess": [("POST", "paul", "message", 403)],
    "/staff/inbound/{message_id:int}/answer": [("POST", "paul", "message", 403)],
    "/staff/outbound/{outbox_id:int}/retry": [("POST", "paul", "outbox", 403)],
    "/staff/suppressions/{suppression_id:int}/lift": [("POST", "paul", "suppression", 403)],
    "/staff/users/{user_id:int}": [("GET", "paul", "jan", 403)],
    "/staff/users/{user_id:int}/invitation": [("POST", "paul", "jan", 403)],
    "/staff/users/{user_id:int}/sessions/revoke": [("POST", "paul", "marie", 403)],
    "/staff/users/{user_id:int}/email": [("POST", "paul", "jan", 403)],
    "/staff/customers/{customer_id:int}/activation-code": [("POST", "paul", "x", 403)],
}


def test_every_id_route_is_covered(rt):
    with_ids = {path for _, path in routes(rt) if "{" in path}
    assert with_ids - TOKEN_ROUTES == set(IDOR), "an id route has no IDOR case (or a case names a gone route)"


def test_someone_elses_id_is_not_found_or_forbidden_and_changes_nothing(rt, app, world):
    bearer = new_api_token(world.paul)
    targets = {"doc_x": world.doc_x.id, "doc_x2": world.doc_x2.id, "jan": world.jan.id, "x": world.x.id,
               "marie": world.marie.id, "message": world.ids["message_id"], "outbox": world.ids["outbox_id"],
               "suppression": world.ids["suppression_id"]}
    people = {"paul": logged_in(app, rt, world.paul), "jan": logged_in(app, rt, world.jan, "203.0.113.5")}
    before = snapshot()
    for path, attempts in IDOR.items():
        for how, who, target, status in attempts:
            url = re.sub(r"\{\w+:int\}", str(targets[target]), path)
            web = people[who]
            if how == "BEARER":
                answer = web_client(app).get(url, headers={"authorization": f"Bearer {bearer}"})
            elif how == "GET":
                answer = web.get(url)
            else:
                answer = web.post(url, data={"csrf_token": csrf(web, "/settings"), "customer": str(world.x.id),
                                             "body": "hi"})
            assert answer.status_code == status, (how, who, url, answer.status_code)
            assert b"%PDF" not in answer.content
    assert snapshot() == before


def test_a_session_planted_before_login_is_worthless_after_it(rt, app, world):
    attacker = logged_in(app, rt, world.paul, "203.0.113.66")
    planted = attacker.cookies.get("__Host-mailflow_session")
    victim = web_client(app)
    victim.cookies.set("__Host-mailflow_session", planted, domain="portal.example.test")
    victim.cookies.set("mailflow_csrf", "k" * 32, domain="portal.example.test")
    raw = link_token(rt, world.marie)
    page = victim.get(f"/auth/{raw}")
    pre_login_token = csrf_of(page.text)
    assert victim.post(f"/auth/{raw}", data={"csrf_token": pre_login_token}).status_code == 303
    after = victim.cookies.get("__Host-mailflow_session")
    assert after not in (planted, None)
    assert attacker.get("/documents").status_code == 303  # the planted id was ended, not upgraded
    stolen = web_client(app)
    stolen.cookies.set("__Host-mailflow_session", planted, domain="portal.example.test")
    assert stolen.get("/documents").status_code == 303
    # the form token known before login is useless after it
    refused = victim.post("/settings/frequency", data={"csrf_token": pre_login_token,
                                                       f"frequency_{world.x.id}": "off"})
    assert refused.status_code == 403
    page = victim.get("/documents").text  # and the victim is who she logged in as, not the attacker
    assert "DL2123456" in page and "DL5000001" not in page


def test_a_random_planted_session_id_is_never_adopted(rt, app, world):
    victim = web_client(app)
    victim.cookies.set("__Host-mailflow_session", "p" * 43, domain="portal.example.test")
    raw = link_token(rt, world.marie)
    victim.post(f"/auth/{raw}", data={"csrf_token": csrf_of(victim.get(f"/auth/{raw}").text)})
    assert victim.cookies.get("__Host-mailflow_session") != "p" * 43
    replay = web_client(app)
    replay.cookies.set("__Host-mailflow_session", "p" * 43, domain="portal.example.test")
    assert replay.get("/documents").status_code == 303


EVIL = ["https://evil.example/", "//evil.example", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
        "/documents//evil.example", "/documents\r\nSet-Cookie: x=1", "https:evil.example", "/documents@evil.example"]


def same_site(location: str) -> bool:
    target = urlsplit(urljoin(BASE + "/documents", location))
    return (target.scheme, target.netloc) == ("https", "portal.example.test") and "\r" not in location \
        and "\n" not in location and location.startswith("/")


def test_no_parameter_redirects_off_site(rt, app, world):
    marie = logged_in(app, rt, world.marie)
    for back in EVIL:
        answer = marie.post(f"/documents/{world.doc_x.id}/duplicate",
                            data={"csrf_token": csrf(marie, "/documents"), "back": back})
        assert answer.status_code == 303 and same_site(answer.headers["location"]), (back, answer.headers)
        assert answer.headers["location"].startswith("/documents") and "set-cookie: x" not in str(answer.headers)
    query = "&".join(f"{name}={EVIL[0]}" for name in ("next", "redirect", "return_to", "url", "continue"))
    for web in (marie, web_client(app)):
        for method, path in routes(rt):
            if method == "GET" and "{" not in path:
                answer = web.get(f"{path}?{query}")
                assert "location" not in answer.headers or same_site(answer.headers["location"]), path
    raw = link_token(rt, world.jan)
    anonymous = web_client(app)
    answer = anonymous.post(f"/auth/{raw}?{query}", data={"csrf_token": csrf(anonymous, f"/auth/{raw}"),
                                                          "next": EVIL[0]})
    assert answer.headers["location"] == "/documents"
    assert post_logout(anonymous, query).headers["location"] == "/login"


def post_logout(web, query: str):
    return web.post(f"/logout?{query}", data={"csrf_token": csrf(web, "/documents"), "next": EVIL[0]})


def set_cookies(answer) -> list[str]:
    return [value for name, value in answer.headers.multi_items() if name == "set-cookie"]


def cookies_of_a_visit(rt, user: User, base_url: str) -> list[str]:
    """Every Set-Cookie of a visit: language choice, form token, login, a flash message, logout."""
    web = web_client(rt, base_url=base_url)
    found = set_cookies(web.get("/login?lang=fr"))
    raw = link_token(rt, user)
    page = web.get(f"/auth/{raw}")
    found += set_cookies(page)
    found += set_cookies(web.post(f"/auth/{raw}", data={"csrf_token": csrf_of(page.text)}))
    found += set_cookies(web.get("/documents"))
    found += set_cookies(web.post("/logout", data={"csrf_token": csrf(web, "/documents")}))
    return found


def test_cookies_are_host_only_secure_httponly_and_samesite_on_https(rt, app, world):
    found = cookies_of_a_visit(rt, world.marie, BASE)
    names = {cookie.split("=", 1)[0] for cookie in found}
    assert {"__Host-mailflow_session", "__Host-mailflow_csrf", "mailflow_lang", "mailflow_flash"} <= names
    for cookie in found:
        flags = [part.strip().lower() for part in cookie.split(";")[1:]]
        assert {"secure", "httponly", "path=/", "samesite=lax"} <= set(flags), cookie
        assert not any(flag.startswith("domain=") for flag in flags), cookie
    page = web_client(app).get("/login")
    assert page.headers["strict-transport-security"].startswith("max-age=")


def test_on_plain_http_cookies_drop_only_what_http_cannot_carry(rt, app, world):
    rt.config.web.base_url = "http://localhost:8080"
    found = cookies_of_a_visit(rt, world.marie, "http://localhost:8080")  # a new app: the new base_url
    assert any(cookie.startswith("mailflow_session=") for cookie in found)
    for cookie in found:
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path=/", "samesite=lax"} <= flags and "secure" not in flags, cookie
        assert not cookie.startswith("__Host-")
    assert "strict-transport-security" not in web_client(rt, base_url="http://localhost:8080").get(
        "/login").headers


def test_static_files_and_token_routes_do_not_walk_the_file_system(rt, app, world):
    web = web_client(app)
    for path in ("/static/..%2fapp.py", "/static/%2e%2e/app.py", "/static/..%5capp.py",
                 "/static/%2e%2e/%2e%2e/config.toml"):
        answer = web.get(path)
        assert answer.status_code == 404 and b"create_app" not in answer.content, path
    before = snapshot()
    for path in ("/auth/..%2f..%2fetc%2fpasswd", "/unsubscribe/..%2f..%2fconfig.toml", "/auth/%00"):
        answer = web.get(path)
        assert answer.status_code in (404, 410) and b"root:" not in answer.content, path
    assert snapshot() == before
