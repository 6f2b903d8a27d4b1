"""Paperless activation codes: issue, redeem, refuse with the reason, opt out and back in, rate limits."""

from __future__ import annotations

import pytest

from mailflow import activation
from mailflow.accounts import Person
from mailflow.errors import RateLimited, TokenError
from mailflow.clock import naive_utc
from mailflow.models import ActivationCode, AuditLog, Customer, User
from tests.support.cli import invoke as invoke_cli
from tests.support import factories
from tests.support.factories import JAN_user
from tests.support.web import client, login, post


@pytest.fixture
def marie(rt):
    """Marie uses the portal: a number whose primary contact never did goes to whoever holds its code."""
    user = factories.customer(rt, "DL2123456").primary_user
    factories.share(rt, "DL2123456")
    User.update(activated_at=naive_utc(rt.now())).where(User.id == user.id).execute()
    return User.get_by_id(user.id)


def _customer() -> Customer:
    return Customer.get(Customer.number == "DL2123456")


def _refusal(rt, user, code) -> str:
    with pytest.raises(TokenError) as refused:
        activation.redeem(rt, user, code)
    return refused.value.reason


def test_codes_are_typable_checked_and_stored_hashed(rt, marie):
    code = activation.issue(rt, _customer())
    assert len(code) == 14 and code.count("-") == 2
    assert set(code.replace("-", "")) <= set(activation.ALPHABET)
    assert activation.well_formed(activation.normalize(code))
    assert not ActivationCode.select().where(ActivationCode.code_hash.contains(code.replace("-", ""))).exists()
    body = activation.normalize(code)
    for i in range(len(body)):  # every single wrong symbol is caught by the check symbol
        wrong = body[:i] + next(c for c in activation.ALPHABET if c != body[i]) + body[i + 1:]
        assert not activation.well_formed(wrong)


def test_redeeming_opts_in_and_is_forgiving_about_how_it_is_typed(rt, marie):
    code = activation.issue(rt, _customer())
    sloppy = " " + code.lower().replace("-", " ").replace("0", "o").replace("1", "l") + " "
    assert activation.redeem(rt, marie, sloppy).paperless is True
    assert AuditLog.select().where(AuditLog.action == "activation.redeem").count() == 1


def test_each_refusal_has_its_reason(rt, marie, clock):
    old = activation.issue(rt, _customer())
    latest = activation.issue(rt, _customer())
    assert _refusal(rt, marie, old) == "superseded"
    assert _refusal(rt, marie, latest[:-1] + ("A" if latest[-1] != "A" else "B")) == "mistyped"
    assert _refusal(rt, marie, "ABCD") == "mistyped"
    body = "".join(activation.ALPHABET[i % 32] for i in range(11))
    assert _refusal(rt, marie, body + activation.check_symbol(body)) == "unknown"
    assert _refusal(rt, JAN_user(), latest) == "not_yours"
    activation.redeem(rt, marie, latest)
    assert _refusal(rt, marie, latest) == "used"
    activation.opt_out(rt, marie, _customer())
    clock.advance(weeks=15, seconds=1)
    assert _refusal(rt, marie, latest) == "expired"
    assert _customer().paperless is False


def test_an_unused_code_while_already_electronic_is_kept_for_later(rt, marie):
    first = activation.issue(rt, _customer())
    activation.redeem(rt, marie, first)
    second = activation.issue(rt, _customer())
    assert _refusal(rt, marie, second) == "already_active"
    activation.opt_out(rt, marie, _customer())
    assert _refusal(rt, marie, first) == "used"  # not the latest any more
    assert activation.redeem(rt, marie, second).paperless is True


def test_opting_back_in_with_the_latest_code(rt, marie):
    code = activation.issue(rt, _customer())
    activation.redeem(rt, marie, code)
    activation.opt_out(rt, marie, _customer())
    assert activation.redeem(rt, marie, code).paperless is True
    actions = [a.action for a in AuditLog.select().where(AuditLog.subject == "DL2123456").order_by(AuditLog.id)]
    assert actions[-3:] == ["activation.redeem", "activation.opt_out", "activation.reactivate"]


def test_guessing_is_rate_limited(rt, marie, clock):
    code = activation.issue(rt, _customer())
    for _ in range(rt.config.limits.activation_attempts_per_hour):
        _refusal(rt, marie, "WRONG-CODE-1234")
    with pytest.raises(RateLimited):
        activation.redeem(rt, marie, code)  # even the right code waits
    clock.advance(hours=1)
    assert activation.redeem(rt, marie, code).paperless


def test_the_activation_page(rt, marie):
    code = activation.issue(rt, _customer())
    web = login(client(rt), rt, marie)
    page = web.get("/activation")
    assert page.status_code == 200 and '<label for="code">' in page.text and "Papier" in page.text
    refused = post(web, "/activation", {"code": "0000-0000-0000"}, page="/activation")
    assert refused.status_code == 400 and "Ce code n&#39;existe pas" in refused.text
    done = post(web, "/activation", {"code": code}, page="/activation")
    assert done.status_code == 303
    assert "DL2123456 reçoit désormais ses documents par voie électronique" in web.get("/activation").text
    again = post(web, "/activation", {"code": code}, page="/activation")
    assert again.status_code == 400 and "déjà été utilisé" in again.text
    out = post(web, f"/activation/{_customer().id}/opt-out", page="/activation")
    assert out.status_code == 303 and _customer().paperless is False
    assert post(web, "/activation", {"code": code}, page="/activation").status_code == 303
    assert _customer().paperless is True


def test_the_page_refuses_after_too_many_attempts(rt, marie):
    web = login(client(rt), rt, marie)
    statuses = [post(web, "/activation", {"code": "X"}, page="/activation").status_code
                for _ in range(rt.config.limits.activation_attempts_per_hour + 1)]
    assert statuses[-1] == 429 and set(statuses[:-1]) == {400}


def test_only_the_primary_contact_opts_out(rt, marie):
    activation.redeem(rt, marie, activation.issue(rt, _customer()))
    jan_web = login(client(rt), rt, JAN_user())
    assert post(jan_web, f"/activation/{_customer().id}/opt-out", page="/settings").status_code == 404
    stranger = factories.customer(rt, "DL2444444", Person("s@x.example"), company="S").primary_user
    assert post(login(client(rt), rt, stranger), f"/activation/{_customer().id}/opt-out",
                page="/activation").status_code == 404
    assert _customer().paperless is True


def test_the_cli_prints_a_code_that_works(rt, marie, tmp_path, database_url):
    env = {"MAILFLOW_DATABASE_URL": database_url, "MAILFLOW_STORAGE_PDF_DIR": str(tmp_path / "pdfs"),
           "MAILFLOW_OUTBOUND_MAILDIR": str(tmp_path / "maildir"),
           "MAILFLOW_SECURITY_SECRET_KEY": rt.config.security.secret_key}
    result = invoke_cli(rt, ["activation-code", "issue", "DL2123456"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    code = result.stdout.strip()
    assert activation.redeem(rt, marie, code).paperless
    listed = invoke_cli(rt, ["activation-code", "list", "DL2123456"], env=env)
    assert "electronic" in listed.stdout and "used" in listed.stdout and code not in listed.stdout
    unknown = invoke_cli(rt, ["activation-code", "issue", "DL2000000"], env=env)
    assert unknown.exit_code == 66
