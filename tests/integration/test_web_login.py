"""Magic-link login over HTTP: enumeration-proof requests, confirm pages that change nothing, single use."""

from __future__ import annotations

from mailflow.clock import naive_utc
from mailflow import actions, login_requests
from mailflow.models import LoginRequest, Outbox, Session, Token, User
from mailflow.tokens import digest
from tests.support import factories
from tests.support.web import client, csrf, csrf_of, link_token, login, post


def _marie(rt) -> User:
    return factories.customer(rt).primary_user


def test_login_answer_is_the_same_for_known_and_unknown_addresses(rt):
    _marie(rt)
    web = client(rt)
    token = csrf(web)
    known = web.post("/login", data={"csrf_token": token, "email": "marie.dupont@example.be"})
    unknown = web.post("/login", data={"csrf_token": token, "email": "nobody@example.be"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert set(known.headers) == set(unknown.headers)
    assert "a login link is on its way" in known.text
    assert LoginRequest.select().count() == 2  # both committed before the answer, the same work for each
    assert login_requests.drain(rt) == 2  # what the worker does next
    mails = list(Outbox.select().where(Outbox.kind == "login"))
    assert [m.recipient for m in mails] == ["marie.dupont@example.be"]
    assert LoginRequest.select().count() == 0


def test_a_malformed_address_is_told_so_without_touching_the_database(rt):
    web = client(rt)
    answer = web.post("/login", data={"csrf_token": csrf(web), "email": "not an address"})
    assert answer.status_code == 400 and "valid email address" in answer.text
    assert Outbox.select().count() == 0


def _ask(web, token: str, email: str = "marie.dupont@example.be") -> int:
    return web.post("/login", data={"csrf_token": token, "email": email}).status_code


def _login_mails() -> int:
    return Outbox.select().where(Outbox.kind == "login").count()


def test_login_requests_are_limited_per_ip_first_then_per_address_and_client(rt):
    _marie(rt)
    limits = rt.config.limits
    web = client(rt, "203.0.113.7")
    token = csrf(web)
    assert [_ask(web, token) for _ in range(limits.login_links_per_address_per_client_per_hour + 2)] == [200] * 7
    login_requests.drain(rt)
    assert _login_mails() == limits.login_links_per_address_per_client_per_hour
    limits.login_requests_per_ip_per_hour = 9
    assert [_ask(web, token, f"x{i}@example.be") for i in range(3)] == [200, 200, 429]
    assert "Too many login requests" in web.post("/login", data={"csrf_token": token, "email": "y@example.be"}).text


def test_someone_asking_for_another_persons_links_does_not_lock_them_out(rt):
    _marie(rt)
    attacker = client(rt, "198.51.100.66")
    token = csrf(attacker)
    for _ in range(rt.config.limits.login_requests_per_ip_per_hour + 5):
        _ask(attacker, token)
    login_requests.drain(rt)
    spent = _login_mails()
    assert spent == rt.config.limits.login_links_per_address_per_client_per_hour
    marie_browser = client(rt, "192.0.2.10")
    assert _ask(marie_browser, csrf(marie_browser)) == 200
    login_requests.drain(rt)
    assert _login_mails() == spent + 1  # her own request from her own network still gets its link


def test_many_clients_together_cannot_fill_a_mailbox(rt):
    _marie(rt)
    cap = rt.config.limits.login_links_per_address_per_hour
    for n in range(cap):  # each client asks a few times: together far more than the cap
        web = client(rt, f"198.51.100.{n}")
        token = csrf(web)
        for _ in range(3):
            _ask(web, token)
    login_requests.drain(rt, limit=1000)
    assert _login_mails() == cap


def test_a_signed_reply_asking_for_a_link_has_its_own_budget(rt):
    marie = _marie(rt)
    for n in range(rt.config.limits.login_links_per_address_per_hour):
        assert actions.login_link(rt, marie, f"198.51.100.{n}") is not None
    assert actions.login_link(rt, marie, "192.0.2.10") is None  # every web client together: the cap
    assert actions.login_link(rt, marie, actions.REPLY_CLIENT) is not None


def test_get_of_a_link_shows_who_and_changes_nothing(rt):
    marie = _marie(rt)
    raw = link_token(rt, marie)
    web = client(rt)
    for _ in range(3):  # a mail scanner, a preview, the person
        page = web.get(f"/auth/{raw}")
        # in Marie's language (French), not the browser's: the link was mailed to her
        assert page.status_code == 200 and "Continuer en tant que marie.dupont@example.be" in page.text
    row = Token.get(Token.token_hash == digest(raw))
    assert row.used_at is None and Session.select().count() == 0
    assert not any("session" in name for name in web.cookies.keys())


def test_post_starts_a_hardened_server_side_session_and_the_link_is_then_used_up(rt):
    marie = _marie(rt)
    raw = link_token(rt, marie)
    web = client(rt)
    page = web.get(f"/auth/{raw}")
    answer = web.post(f"/auth/{raw}", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303 and answer.headers["location"] == "/documents"
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and "mailflow_session" in v)
    assert cookie.startswith("__Host-mailflow_session=")
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert Session.get(Session.user == marie).session_hash == digest(value)  # only the hash is stored
    assert web.get("/documents").status_code == 200
    again = client(rt).get(f"/auth/{raw}")
    assert again.status_code == 410 and "already been used" in again.text and 'name="email"' in again.text


def test_a_used_link_posted_again_is_refused(rt):
    marie = _marie(rt)
    raw = link_token(rt, marie)
    web = client(rt)
    token = csrf_of(web.get(f"/auth/{raw}").text)
    assert web.post(f"/auth/{raw}", data={"csrf_token": token}).status_code == 303
    other = client(rt)
    token = csrf(other)
    refused = other.post(f"/auth/{raw}", data={"csrf_token": token})
    assert refused.status_code == 410 and "already been used" in refused.text
    assert Session.select().count() == 1


def test_expired_and_unknown_links_offer_a_new_one(rt, clock):
    marie = _marie(rt)
    raw = link_token(rt, marie, minutes=30)
    clock.advance(minutes=31)
    web = client(rt)
    expired = web.get(f"/auth/{raw}")
    assert expired.status_code == 410 and "expired" in expired.text and "Send me a login link" in expired.text
    assert web.post(f"/auth/{raw}", data={"csrf_token": csrf(web)}).status_code == 410
    assert web.get("/auth/not-a-real-token").status_code == 410


def test_an_invitation_link_activates_the_account(rt):
    marie = _marie(rt)
    assert marie.activated_at is None
    raw = link_token(rt, marie, purpose="invitation", minutes=60 * 24)
    web = client(rt)
    page = web.get(f"/auth/{raw}")
    assert "Activez votre compte" in page.text
    web.post(f"/auth/{raw}", data={"csrf_token": csrf_of(page.text)})
    assert User.get_by_id(marie.id).activated_at == naive_utc(rt.now())
    assert "Votre compte est actif" in web.get("/documents").text  # in her language, once


def test_posts_without_the_right_csrf_token_are_refused(rt):
    marie = _marie(rt)
    raw = link_token(rt, marie)
    web = client(rt)
    web.get("/login")
    assert web.post(f"/auth/{raw}", data={}).status_code == 403
    assert web.post(f"/auth/{raw}", data={"csrf_token": "forged"}).status_code == 403
    assert web.post("/login", data={"email": "marie.dupont@example.be"}).status_code == 403
    assert Token.get(Token.token_hash == digest(raw)).used_at is None and Outbox.select().count() == 0
    login(web, rt, marie)
    refused = web.post("/settings/frequency", data={"csrf_token": "forged", "frequency_1": "off"})
    assert refused.status_code == 403 and "Ce formulaire a expiré" in refused.text


def test_login_rotates_the_session_id(rt):
    marie = _marie(rt)
    web = login(client(rt), rt, marie)
    first = web.cookies.get("__Host-mailflow_session")
    login(web, rt, marie)
    second = web.cookies.get("__Host-mailflow_session")
    assert first != second
    revoked = Session.get(Session.session_hash == digest(first))
    assert revoked.revoked_at is not None
    planted = client(rt)
    planted.cookies.set("__Host-mailflow_session", first, domain="portal.example.test")
    assert planted.get("/documents").status_code == 303  # the old id logs nobody in


def test_logout_revokes_the_session_on_the_server(rt):
    marie = _marie(rt)
    web = login(client(rt), rt, marie)
    assert web.get("/login").headers["location"] == "/documents"  # already in
    stolen = web.cookies.get("__Host-mailflow_session")
    answer = post(web, "/logout", page="/documents")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert Session.get(Session.user == marie).revoked_at is not None
    thief = client(rt)
    thief.cookies.set("__Host-mailflow_session", stolen, domain="portal.example.test")
    assert thief.get("/documents").status_code == 303


def test_sessions_expire_after_inactivity(rt, clock):
    marie = _marie(rt)
    web = login(client(rt), rt, marie)
    clock.advance(hours=rt.config.web.session_hours - 1)
    assert web.get("/documents").status_code == 200  # activity pushes the expiry back
    clock.advance(hours=rt.config.web.session_hours - 1)
    assert web.get("/documents").status_code == 200
    clock.advance(hours=rt.config.web.session_hours + 1)
    assert web.get("/documents").status_code == 303


def test_anonymous_pages_follow_accept_language_and_the_language_switch(rt):
    french = client(rt, **{"accept-language": "fr-BE,fr;q=0.9,en;q=0.5"})
    assert "Connectez-vous à vos documents" in french.get("/login").text
    dutch = client(rt, **{"accept-language": "de;q=0.2, nl-BE;q=0.9"})
    assert "Meld u aan bij uw documenten" in dutch.get("/login").text
    switched = french.get("/login?lang=en")
    assert "Log in to your documents" in switched.text
    assert "Log in to your documents" in french.get("/login").text  # remembered in a cookie
    assert '<html lang="en">' in switched.text


def test_a_logged_in_page_speaks_the_users_language(rt):
    marie = _marie(rt)
    web = login(client(rt), rt, marie)
    page = web.get("/documents")
    assert '<html lang="fr">' in page.text and "Numéro de client" in page.text


def test_security_headers_on_every_page(rt):
    page = client(rt).get("/login")
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client(rt).get("/nowhere").status_code == 404
