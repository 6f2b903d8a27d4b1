"""Activation codes as the FAQ has them: the print shop's CSV, and signing up with a number and a code, logged out."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

import pytest

from mailflow import accounts, activation
from mailflow.account_merge import merge
from mailflow.accounts import Person
from mailflow.cli import web as cli_web
from mailflow.clock import aware_utc, naive_utc
from mailflow.errors import StorageError
from mailflow.models import (Access, ActivationCode, AuditLog, Customer, LoginRequest, Outbox, PaperlessChange,
                             Share, User)
from tests.support import factories
from tests.support.cli import invoke
from tests.support.outbox import mails_to, text
from tests.support.web import client, csrf, login, post

ANNE = "anne@boulangerie.example"


@pytest.fixture
def env(rt, tmp_path, database_url) -> dict[str, str]:
    return {"MAILFLOW_DATABASE_URL": database_url, "MAILFLOW_STORAGE_PDF_DIR": str(tmp_path / "pdfs"),
            "MAILFLOW_OUTBOUND_MAILDIR": str(tmp_path / "maildir"),
            "MAILFLOW_SECURITY_SECRET_KEY": rt.config.security.secret_key}


@pytest.fixture
def customers(rt):
    """Three customer numbers on paper (two of DL2, one of DL5) and one already electronic."""
    for number, contact in (("DL2123456", factories.MARIE), ("DL2200000", Person("b@bakery.example")),
                            ("DL5000001", Person("c@cafe.example")), ("DL2300000", Person("d@deli.example"))):
        factories.customer(rt, number, contact, company=f"Company {number}")
    paperless = Customer.get(Customer.number == "DL2300000")
    Customer.update(paperless=True).where(Customer.id == paperless.id).execute()


def export(rt, env, *args: str) -> list[dict[str, str]]:
    result = invoke(rt, ["activation-code", "export", *args], env=env)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_the_export_issues_a_code_for_each_number_on_paper_once(rt, env, customers):
    rows = export(rt, env)
    assert [r["customer"] for r in rows] == ["DL2123456", "DL2200000", "DL5000001"]  # not the electronic one
    assert set(rows[0]) == {"customer", "company", "code", "valid_until"} and rows[0]["company"] == "Company DL2123456"
    stored = ActivationCode.get(ActivationCode.customer == Customer.get(Customer.number == "DL2123456"))
    assert stored.expires_at - stored.issued_at == activation.LIFETIME
    assert rows[0]["valid_until"] == aware_utc(stored.expires_at).astimezone(ZoneInfo("Europe/Brussels")).date().isoformat()
    assert export(rt, env) == []  # the codes just printed stay valid: nothing new the second time
    marie = User.get(User.email == factories.MARIE.email)
    assert activation.redeem(rt, marie, rows[0]["code"]).paperless
    plain = rows[1]["code"].replace("-", "")
    assert not ActivationCode.select().where(ActivationCode.code_hash.contains(plain)).exists()  # hashed only


def test_the_export_filters_by_issuer_reissues_on_demand_and_writes_a_file(rt, env, customers, tmp_path):
    [dl5] = export(rt, env, "--issuer", "dl5")
    assert dl5["customer"] == "DL5000001"
    target = tmp_path / "letters.csv"
    result = invoke(rt, ["activation-code", "export", "--issuer", "DL5", "--reissue", "--output", str(target)],
                    env=env)
    assert result.exit_code == 0 and result.stdout == "" and "1 code(s) issued" in result.stderr
    [again] = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert again["code"] != dl5["code"] and oct(target.stat().st_mode)[-3:] == "600"
    user = User.get(User.email == "c@cafe.example")
    with pytest.raises(activation.TokenError):
        activation.redeem(rt, user, dl5["code"])  # superseded by the reissue
    assert activation.redeem(rt, user, again["code"]).paperless


def test_export_errors_are_clear(rt, env, customers, tmp_path):
    unknown = invoke(rt, ["activation-code", "export", "--issuer", "XX9"], env=env)
    assert unknown.exit_code == 66 and "unknown issuer" in unknown.stderr
    nowhere = invoke(rt, ["activation-code", "export", "--output", str(tmp_path / "no" / "such.csv")], env=env)
    assert nowhere.exit_code == 65 and "cannot write" in nowhere.stderr
    assert ActivationCode.select().count() == 0


def test_a_failed_batch_leaves_the_committed_codes_in_the_file(rt, env, customers, tmp_path, monkeypatch):
    issue_many = activation.issue_many
    calls = []

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise StorageError("issuing codes failed: the database is busy or unavailable")
        return issue_many(*args, **kwargs)

    monkeypatch.setattr(cli_web, "CODE_BATCH", 1)
    monkeypatch.setattr(activation, "issue_many", second_fails)
    target = tmp_path / "letters.csv"
    result = invoke(rt, ["activation-code", "export", "--output", str(target)], env=env)
    assert result.exit_code == 75 and "1 code(s) issued, 2 to go" in result.stderr
    [row] = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert row["customer"] == "DL2123456" and ActivationCode.select().count() == 1
    monkeypatch.setattr(activation, "issue_many", issue_many)
    assert [r["customer"] for r in export(rt, env)] == ["DL2200000", "DL5000001"]  # the rerun goes on


def signup(web, number: str, code: str, email: str = ANNE, **extra: str):
    return web.post("/activation", data={"csrf_token": csrf(web, "/activation"), "customer": number, "code": code,
                                         "email": email, **extra})


def test_a_new_user_signs_up_with_number_and_code(rt, customers):
    code = activation.issue(rt, Customer.get(Customer.number == "DL2200000"))
    web = client(rt, **{"accept-language": "nl-BE"})
    form = web.get("/activation")
    assert form.status_code == 200 and "Klantnummer" in form.text and "Activeringscode" in form.text
    done = signup(web, "dl2 200000", code.lower(), ANNE, first_name="Anne", last_name="Maes")
    assert done.status_code == 303 and done.headers["location"] == "/login"
    anne = User.get(User.email == ANNE)
    customer = Customer.get(Customer.number == "DL2200000")
    assert (anne.language, anne.first_name, customer.primary_user_id, customer.paperless) == ("nl", "Anne", anne.id,
                                                                                              True)
    assert Access.get(Access.customer == customer).user_id == anne.id  # the never-activated contact is gone
    assert LoginRequest.select().count() == 0 and len(mails_to(ANNE, "login")) == 1
    [confirmed] = mails_to(ANNE, "paperless")
    assert "elektronisch" in text(confirmed)
    change = PaperlessChange.get()
    assert (change.via, change.actor, change.paperless) == ("signup", ANNE, True)
    assert "ontvangt zijn documenten voortaan elektronisch" in web.get("/login").text


def test_refusals_say_why_without_telling_which_numbers_exist(rt, customers):
    code = activation.issue(rt, Customer.get(Customer.number == "DL2200000"))
    web = client(rt)
    other_number = signup(web, "DL2123456", code)
    unknown_number = signup(web, "DL2999999", code)
    assert other_number.status_code == unknown_number.status_code == 400
    assert "do not belong together" in other_number.text and "do not belong together" in unknown_number.text
    assert "typing mistake" in signup(web, "DL2200000", "ABCD-EFGH-JKMN").text
    assert "valid email address" in signup(web, "DL2200000", code, "nobody").text
    assert User.select().where(User.email == ANNE).count() == 0  # refused sign-ups make no account


def test_a_number_with_an_active_primary_contact_is_refused_with_the_reason(rt, customers, clock):
    marie = User.get(User.email == factories.MARIE.email)
    User.update(activated_at=naive_utc(rt.now())).where(User.id == marie.id).execute()
    code = activation.issue(rt, Customer.get(Customer.number == "DL2123456"))
    refused = signup(client(rt), "DL2123456", code)
    assert refused.status_code == 400 and "already has a primary contact" in refused.text
    assert Customer.get(Customer.number == "DL2123456").paperless is False
    done = signup(client(rt), "DL2123456", code, factories.MARIE.email)  # Marie herself may
    assert done.status_code == 303 and Customer.get(Customer.number == "DL2123456").paperless
    clock.advance(weeks=16)
    late = signup(client(rt, "10.0.0.9"), "DL2123456", code, factories.MARIE.email)
    assert late.status_code == 400 and "expired" in late.text


def test_a_mistyped_address_can_be_corrected_with_the_same_code(rt, customers):
    code = activation.issue(rt, Customer.get(Customer.number == "DL2200000"))
    signup(client(rt), "DL2200000", code, "anne@boulangrie.example")  # a typo: its owner never logs in
    assert signup(client(rt), "DL2200000", code, ANNE).status_code == 303
    assert Customer.get(Customer.number == "DL2200000").primary_user.email == ANNE
    assert AuditLog.select().where(AuditLog.action == "customer.primary_change").count() == 2


def test_the_shared_users_stay_with_the_new_primary_contact(rt, customers):
    factories.share(rt, "DL2200000")
    code = activation.issue(rt, Customer.get(Customer.number == "DL2200000"))
    signup(client(rt), "DL2200000", code)
    anne = User.get(User.email == ANNE)
    jan = User.get(User.email == factories.JAN.email)
    assert Share.select().where(Share.owner == anne, Share.user == jan).exists()
    assert Access.get(Access.user == jan).granted_by_id == anne.id


def test_an_address_merged_into_another_account_signs_up_that_account(rt, customers):
    kept = factories.customer(rt, "DL2500000", Person("anne@new.example"), company="Anne").primary_user
    merge(rt, kept, accounts.ensure_user(rt, Person(ANNE)), actor="test")
    signup(client(rt), "DL2200000", activation.issue(rt, Customer.get(Customer.number == "DL2200000")), ANNE)
    assert Customer.get(Customer.number == "DL2200000").primary_user_id == kept.id


def test_sign_ups_are_limited_per_network(rt, customers):
    code = activation.issue(rt, Customer.get(Customer.number == "DL2200000"))
    web = client(rt, "203.0.113.5")
    limit = rt.config.limits.signups_per_ip_per_hour
    statuses = [signup(web, "DL2200000", "WRONG-CODE-0000").status_code for _ in range(limit)]
    assert set(statuses) == {400}
    blocked = signup(web, "DL2200000", code)
    assert blocked.status_code == 429 and Customer.get(Customer.number == "DL2200000").paperless is False
    assert signup(client(rt, "198.51.100.7"), "DL2200000", code).status_code == 303


def test_a_logged_in_user_adds_a_number_with_its_code(rt, customers):
    marie = User.get(User.email == factories.MARIE.email)
    code = activation.issue(rt, Customer.get(Customer.number == "DL5000001"))
    web = login(client(rt), rt, marie)
    assert post(web, "/activation", {"code": code}, page="/activation").status_code == 303
    assert Customer.get(Customer.number == "DL5000001").primary_user_id == marie.id
    assert "DL5000001" in web.get("/sharing").text
    assert Outbox.select().where(Outbox.kind == "paperless", Outbox.recipient == marie.email).count() == 1
