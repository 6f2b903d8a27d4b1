"""Paperless has an effect: every change kept and audited (when, who, how), confirmed to the primary contact, and
read by the issuer's back office (CSV and GET /api/paperless with its API key)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from mailflow import activation, paperless
from mailflow.accounts import Person
from mailflow.issuers import sync_issuers
from mailflow.models import AuditLog, Customer, PaperlessChange
from mailflow.web.api import new_api_token
from tests.support import factories
from tests.support.cli import invoke
from tests.support.outbox import mails_to, text
from tests.support.web import client

KEYS = {"DL2": "dl2-back-office-key", "DL5": "dl5-back-office-key"}


@pytest.fixture
def marie(rt):
    for issuer in rt.config.issuers:
        issuer.api_key = KEYS[issuer.prefix]
    sync_issuers(rt.config.issuers)
    user = factories.customer(rt, "DL2123456").primary_user
    factories.customer(rt, "DL2200000", Person("b@bakery.example"), company="Bakery")
    factories.customer(rt, "DL5000001", company="Garage Dupont Namur")
    return user


def _customer(number: str = "DL2123456") -> Customer:
    return Customer.get(Customer.number == number)


def test_each_change_is_kept_audited_and_confirmed_to_the_primary_contact(rt, marie, clock):
    code = activation.issue(rt, _customer())
    activation.redeem(rt, marie, code)
    clock.advance(days=2)
    activation.opt_out(rt, marie, _customer())
    changes = list(PaperlessChange.select().order_by(PaperlessChange.id))
    assert [(c.paperless, c.via, c.actor) for c in changes] == [(True, "code", marie.email),
                                                                (False, "portal", marie.email)]
    audited = [(a.action, json.loads(a.detail)["via"]) for a in AuditLog.select().where(
        AuditLog.subject == "DL2123456", AuditLog.action.in_(["activation.redeem", "activation.opt_out"])
    ).order_by(AuditLog.id)]
    assert audited == [("activation.redeem", "code"), ("activation.opt_out", "portal")]
    on, off = mails_to(marie.email, "paperless")
    assert on["Subject"] == "DL2123456 reçoit désormais ses documents par voie électronique"
    assert off["Subject"] == "DL2123456 reçoit de nouveau ses documents sur papier"
    assert "marie.dupont@example.be" in text(off) and "/activation" in text(off)


def _csv(result) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


@pytest.fixture
def env(rt, tmp_path, database_url) -> dict[str, str]:
    return {"MAILFLOW_DATABASE_URL": database_url, "MAILFLOW_STORAGE_PDF_DIR": str(tmp_path / "pdfs"),
            "MAILFLOW_OUTBOUND_MAILDIR": str(tmp_path / "maildir"),
            "MAILFLOW_SECURITY_SECRET_KEY": rt.config.security.secret_key}


def test_the_export_lists_delivery_per_number_and_changes_since_a_date(rt, marie, clock, env):
    activation.redeem(rt, marie, activation.issue(rt, _customer()))
    clock.advance(days=10)
    activation.redeem(rt, marie, activation.issue(rt, _customer("DL5000001")))
    everything = _csv(invoke(rt, ["paperless", "export"], env=env))
    assert [(r["customer"], r["delivery"]) for r in everything] == [
        ("DL2123456", "electronic"), ("DL2200000", "paper"), ("DL5000001", "electronic")]
    assert everything[0]["via"] == "code" and everything[0]["changed_by"] == marie.email
    assert everything[0]["changed_at"].startswith("2026-11-02T09:00") and everything[1]["changed_at"] == ""
    recent = _csv(invoke(rt, ["paperless", "export", "--since", "2026-11-10"], env=env))
    assert [r["customer"] for r in recent] == ["DL5000001"]
    dl2 = _csv(invoke(rt, ["paperless", "export", "--issuer", "DL2"], env=env))
    assert [r["customer"] for r in dl2] == ["DL2123456", "DL2200000"]
    bad = invoke(rt, ["paperless", "export", "--since", "last tuesday"], env=env)
    assert bad.exit_code == 65 and "since must be a date" in bad.stderr


def test_an_opt_out_after_the_date_is_listed_as_paper_again(rt, marie, clock):
    activation.redeem(rt, marie, activation.issue(rt, _customer()))
    clock.advance(days=3)
    activation.opt_out(rt, marie, _customer())
    [row] = paperless.rows(since=clock.now().replace(hour=0))
    assert row.values()["delivery"] == "paper" and row.values()["via"] == "portal"


def test_the_api_answers_the_issuer_with_its_key_only(rt, marie, clock):
    activation.redeem(rt, marie, activation.issue(rt, _customer()))
    activation.redeem(rt, marie, activation.issue(rt, _customer("DL5000001")))
    web = client(rt)
    answer = web.get("/api/paperless", headers={"X-Api-Key": KEYS["DL2"]})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["issuer"] == "DL2" and [c["customer"] for c in body["customers"]] == ["DL2123456", "DL2200000"]
    assert body["customers"][0]["delivery"] == "electronic" and body["customers"][1]["delivery"] == "paper"
    since = web.get("/api/paperless", params={"since": "2026-11-02T10:00:00+01:00"},
                    headers={"Authorization": f"Bearer {KEYS['DL5']}"}).json()
    assert [c["customer"] for c in since["customers"]] == ["DL5000001"]
    assert since["since"] == "2026-11-02T10:00:00+01:00"


def test_the_api_refuses_without_the_issuers_key(rt, marie):
    web = client(rt)
    assert web.get("/api/paperless").status_code == 401
    wrong = web.get("/api/paperless", headers={"X-Api-Key": "guess"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    with rt.db.atomic():
        personal = new_api_token(marie)
    assert web.get("/api/paperless", headers={"Authorization": f"Bearer {personal}"}).status_code == 403
    bad = web.get("/api/paperless", params={"since": "yesterday"}, headers={"X-Api-Key": KEYS["DL2"]})
    assert bad.status_code == 400 and bad.json()["field"] == "since"
