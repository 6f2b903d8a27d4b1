"""What a new user noticed, over HTTP: the page they were sent to after logging in (a local path only), staff on
their console, a mailed link's page in its recipient's language, the API token shown after a redirect."""

from __future__ import annotations

import pytest

from mailflow.accounts import Person, add_staff
from mailflow.models import Customer, User
from tests.support import factories
from tests.support.web import client, csrf, csrf_of, link_token, login, post


@pytest.fixture
def marie(rt):
    factories.customer(rt, "DL2123456")
    factories.share(rt, "DL2123456")
    return User.get(User.email == factories.MARIE.email)


def use_link(web, raw: str):
    page = web.get(f"/auth/{raw}")
    return web.post(f"/auth/{raw}", data={"csrf_token": csrf_of(page.text)})


def test_after_logging_in_a_person_lands_on_the_page_they_were_sent_to(rt, marie):
    jan = factories.JAN_user()
    customer = Customer.get(Customer.number == "DL2123456")
    web = client(rt)
    asked = web.get(f"/primary-contact/{customer.id}")
    assert asked.headers["location"] == f"/login?next=%2Fprimary-contact%2F{customer.id}"
    form = web.get(asked.headers["location"]).text
    assert f'name="next" value="/primary-contact/{customer.id}"' in form
    web.post("/login", data={"csrf_token": csrf_of(form), "email": jan.email, "next": f"/primary-contact/{customer.id}"})
    assert use_link(web, link_token(rt, jan)).headers["location"] == f"/primary-contact/{customer.id}"
    assert use_link(client(rt), link_token(rt, jan)).headers["location"] == "/documents"  # another browser


@pytest.mark.parametrize("wanted", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_next_is_only_ever_a_local_path(rt, marie, wanted):
    web = client(rt)
    web.post("/login", data={"csrf_token": csrf(web), "email": marie.email, "next": wanted})
    assert use_link(web, link_token(rt, marie)).headers["location"] == "/documents"
    assert 'name="next"' not in web.get("/login", params={"next": wanted}).text


def test_staff_land_on_their_console(rt, marie):
    staff = add_staff(rt, Person("sam@support.example", "Sam", "", "en"))
    assert use_link(client(rt), link_token(rt, staff)).headers["location"] == "/staff"


def test_a_mailed_links_page_speaks_its_recipients_language_not_the_browsers(rt, marie):
    jan = factories.JAN_user()
    page = client(rt, **{"accept-language": "fr"}).get(f"/auth/{link_token(rt, jan)}")
    assert '<html lang="nl">' in page.text and "Doorgaan als" in page.text
    invitation = link_token(rt, marie, "invitation")
    assert '<html lang="fr">' in client(rt, **{"accept-language": "de"}).get(f"/auth/{invitation}").text


def test_a_new_api_token_is_shown_after_a_redirect_once(rt, marie):
    web = login(client(rt), rt, marie)
    created = post(web, "/settings/api-token")
    assert created.status_code == 303 and created.headers["location"] == "/settings"
    shown = web.get("/settings").text
    assert 'id="new-token"' in shown and User.get_by_id(marie.id).api_token_hash
    assert 'id="new-token"' not in web.get("/settings").text  # a reload shows it no more, and sends nothing again
