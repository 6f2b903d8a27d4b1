"""Digests: the right local time across DST, exactly the pending notices of the period and of visible
numbers, once per recipient and period, and frequency changes that agree with them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from urllib.parse import urlencode

import pytest

from mailflow import accounts, actions, documents, tokens
from mailflow.clock import naive_utc
from mailflow.models import Digest, Notification, Outbox, View
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.scheduler import digests
from mailflow.signing import token_from_address
from tests.support.cli import invoke as invoke_cli
from tests.support import factories
from tests.support.factories import JAN, MARIE
from tests.support.scheduler import (
    choose, cli_env, digest_count, digest_messages, html, local, numbers_in, pending_count, publish_at, text, user,
)


@pytest.fixture
def marie_daily(rt):
    factories.customer(rt)
    return choose(rt, MARIE.email, "daily")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def test_daily_digest_goes_out_at_seven_local_and_lists_the_previous_day(rt, clock, marie_daily):
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    publish_at(rt, clock, local(2026, 11, 2, 23, 59), "F-2")
    publish_at(rt, clock, local(2026, 11, 3, 0, 30), "F-3")  # after midnight: the next day's digest
    assert digests.run(rt, "daily", local(2026, 11, 3, 6, 59)).created == 0
    report = digests.run(rt, "daily", local(2026, 11, 3, 7))
    assert (report.recipients, report.created) == (1, 1)
    [mail] = digest_messages(MARIE.email)
    assert numbers_in(mail, ["F-1", "F-2", "F-3"]) == ["F-1", "F-2"]
    assert mail["Subject"] == "Votre résumé quotidien\u00a0: 2 novembre 2026"
    assert pending_count(MARIE.email) == 1
    digests.run(rt, "daily", local(2026, 11, 4, 7))
    assert numbers_in(digest_messages(MARIE.email)[1], ["F-1", "F-2", "F-3"]) == ["F-3"]


def test_digest_row_records_the_local_period_in_utc(rt, clock, marie_daily):
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    digests.run(rt, "daily", local(2026, 11, 3, 7))
    row = Digest.get()
    assert (row.frequency, row.period_start, row.period_end) == \
        ("daily", datetime(2026, 11, 1, 23), datetime(2026, 11, 2, 23))
    assert Notification.get().status == "digested" and Notification.get().digest_id == row.id


def test_march_dst_day_has_23_hours_and_the_digest_is_at_seven_summer_time(rt, clock, marie_daily):
    publish_at(rt, clock, utc(2026, 3, 28, 23, 30), "F-SUN-EARLY")  # 00:30 CET, Sunday 29 March
    publish_at(rt, clock, utc(2026, 3, 29, 21, 30), "F-SUN-LATE")  # 23:30 CEST
    publish_at(rt, clock, utc(2026, 3, 29, 22, 30), "F-MON")  # 00:30 CEST Monday: not that day
    assert digests.run(rt, "daily", utc(2026, 3, 30, 4, 59)).created == 0  # 06:59 CEST
    assert digests.run(rt, "daily", utc(2026, 3, 30, 5, 0)).created == 1  # 07:00 CEST
    [mail] = digest_messages(MARIE.email)
    assert numbers_in(mail, ["F-SUN-EARLY", "F-SUN-LATE", "F-MON"]) == ["F-SUN-EARLY", "F-SUN-LATE"]
    assert Digest.get().period_start == datetime(2026, 3, 28, 23) and Digest.get().period_end == \
        datetime(2026, 3, 29, 22)


def test_october_dst_day_has_25_hours_and_the_digest_is_at_seven_winter_time(rt, clock, marie_daily):
    publish_at(rt, clock, utc(2026, 10, 24, 22, 30), "F-SUN-EARLY")  # 00:30 CEST, Sunday 25 October
    publish_at(rt, clock, utc(2026, 10, 25, 22, 30), "F-SUN-LATE")  # 23:30 CET, still Sunday
    assert digests.run(rt, "daily", utc(2026, 10, 26, 5, 59)).created == 0  # 06:59 CET
    assert digests.run(rt, "daily", utc(2026, 10, 26, 6, 0)).created == 1  # 07:00 CET
    [mail] = digest_messages(MARIE.email)
    assert numbers_in(mail, ["F-SUN-EARLY", "F-SUN-LATE"]) == ["F-SUN-EARLY", "F-SUN-LATE"]
    assert (Digest.get().period_end - Digest.get().period_start).total_seconds() == 25 * 3600


def test_weekly_digest_on_monday_lists_monday_to_sunday(rt, clock):
    factories.customer(rt)
    choose(rt, MARIE.email, "weekly")
    publish_at(rt, clock, local(2026, 10, 26, 0, 10), "F-MON")
    publish_at(rt, clock, local(2026, 11, 1, 23, 50), "F-SUN")
    publish_at(rt, clock, local(2026, 11, 2, 0, 10), "F-NEXT")
    assert digests.run(rt, "weekly", local(2026, 11, 2, 6, 59)).created == 0
    assert digests.run(rt, "daily", local(2026, 11, 2, 7)).created == 0  # a weekly reader gets no daily
    assert digests.run(rt, "weekly", local(2026, 11, 2, 7)).created == 1
    assert numbers_in(digest_messages(MARIE.email)[0], ["F-MON", "F-SUN", "F-NEXT"]) == ["F-MON", "F-SUN"]
    assert digests.run(rt, "weekly", local(2026, 11, 5, 7)).created == 0  # same week again: nothing
    assert digests.run(rt, "weekly", local(2026, 11, 9, 7)).created == 1
    assert digest_messages(MARIE.email)[0]["Subject"] == "Votre résumé hebdomadaire\u00a0: 26 oct. – 1 nov. 2026"


@pytest.mark.parametrize(("sunday_late_utc", "monday_seven_utc"), [
    (utc(2026, 3, 29, 21, 30), utc(2026, 3, 30, 5, 0)),  # week of the March change: 07:00 CEST
    (utc(2026, 10, 25, 22, 30), utc(2026, 10, 26, 6, 0)),  # week of the October change: 07:00 CET
])
def test_weekly_digest_in_the_dst_weeks(rt, clock, sunday_late_utc, monday_seven_utc):
    factories.customer(rt)
    choose(rt, MARIE.email, "weekly")
    publish_at(rt, clock, sunday_late_utc, "F-SUN")  # 23:30 local on the Sunday of the change
    assert digests.run(rt, "weekly", monday_seven_utc.replace(minute=59, hour=monday_seven_utc.hour - 1)) \
        .created == 0
    assert digests.run(rt, "weekly", monday_seven_utc).created == 1
    assert numbers_in(digest_messages(MARIE.email)[0], ["F-SUN"]) == ["F-SUN"]


def test_monthly_digest_on_the_first_lists_the_previous_month(rt, clock):
    factories.customer(rt)
    choose(rt, MARIE.email, "monthly")
    publish_at(rt, clock, local(2026, 10, 1, 0, 5), "F-OCT-1")
    publish_at(rt, clock, local(2026, 10, 31, 23, 55), "F-OCT-31")
    publish_at(rt, clock, local(2026, 11, 1, 0, 5), "F-NOV")
    assert digests.run(rt, "monthly", local(2026, 11, 1, 6, 59)).created == 0
    assert digests.run(rt, "monthly", utc(2026, 11, 1, 6, 0)).created == 1  # 07:00 CET
    [mail] = digest_messages(MARIE.email)
    assert numbers_in(mail, ["F-OCT-1", "F-OCT-31", "F-NOV"]) == ["F-OCT-1", "F-OCT-31"]
    assert mail["Subject"] == "Votre résumé mensuel\u00a0: octobre 2026"
    assert digests.run(rt, "monthly", local(2026, 11, 20, 7)).created == 0


def test_monthly_digest_for_march_goes_out_on_april_first_at_seven_summer_time(rt, clock):
    factories.customer(rt)
    choose(rt, MARIE.email, "monthly")
    publish_at(rt, clock, utc(2026, 3, 31, 21, 30), "F-MAR-31")  # 23:30 CEST
    assert digests.run(rt, "monthly", utc(2026, 4, 1, 4, 59)).created == 0
    assert digests.run(rt, "monthly", utc(2026, 4, 1, 5, 0)).created == 1


def test_each_recipient_gets_only_numbers_they_may_see_in_their_language(rt, clock):
    factories.customer(rt, "DL2123456")
    factories.customer(rt, "DL5000001", company="Garage Dupont Namur")
    factories.share(rt, "DL2123456")  # Jan sees DL2123456 only
    choose(rt, MARIE.email, "daily")
    choose(rt, JAN.email, "daily")
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-A", "DL2123456", amount="1234.56")
    publish_at(rt, clock, local(2026, 11, 2, 11), "F-B", "DL5000001")
    digests.run(rt, "daily", local(2026, 11, 3, 7))
    [marie], [jan] = digest_messages(MARIE.email), digest_messages(JAN.email)
    assert numbers_in(marie, ["F-A", "F-B"]) == ["F-A", "F-B"]
    assert numbers_in(jan, ["F-A", "F-B"]) == ["F-A"] and "DL5000001" not in text(jan) + html(jan)
    assert "Klantnummer DL2123456 (Garage Dupont SRL)" in text(jan) and "€\xa01.234,56" in text(jan)
    assert "Numéro de client DL5000001 (Garage Dupont Namur)" in text(marie)
    assert "1\u202f234,56\xa0€" in text(marie) and "facture F-A, 2 novembre 2026" in text(marie)
    assert "https://portal.example.test/documents?customer=DL5000001&date_from=2026-11-02&date_to=2026-11-02" \
        in text(marie)


def test_the_viewer_link_quotes_the_number_as_urlencode_does(rt):
    account = digests.Account(1, "DL 5/00&1+é", "Garage Dupont SRL", "Lease Services")
    entries = [digests.Entry(digests.Listed(k, f"F-{k}", "invoice", day, 100, "EUR"), False, "invoice")
               for k, day in enumerate((date(2026, 11, 3), date(2026, 10, 30)))]
    query = urlencode({"customer": account.number, "date_from": "2026-10-30", "date_to": "2026-11-03"})
    assert digests.viewer_link(rt, digests.Group(account, entries)) == rt.url(f"documents?{query}")


def test_a_number_unticked_after_publishing_is_left_out_and_its_notices_dropped(rt, clock):
    factories.customer(rt)
    jan = factories.share(rt)
    choose(rt, JAN.email, "daily")
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-A")
    marie = user(MARIE.email)
    accounts.set_ticked(rt, marie, jan, accounts.get_customer("DL2123456"), False)
    report = digests.run(rt, "daily", local(2026, 11, 3, 7))
    assert report.hidden == 1 and digest_messages(JAN.email) == []
    assert Notification.get(Notification.user == jan).status == "skipped"


def test_viewed_documents_are_marked_not_omitted(rt, clock, marie_daily):
    seen = publish_at(rt, clock, local(2026, 11, 2, 10), "F-SEEN")
    publish_at(rt, clock, local(2026, 11, 2, 11), "F-NEW")
    View.create(user=marie_daily, document=seen, viewed_at=naive_utc(clock.now()))
    digests.run(rt, "daily", local(2026, 11, 3, 7))
    [mail] = digest_messages(MARIE.email)
    body = text(mail).replace("\r\n", "\n")
    assert "facture F-SEEN, 2 novembre 2026, 100,00\xa0€ (déjà consulté)" in body
    assert "F-NEW, 2 novembre 2026, 100,00\xa0€\n" in body
    assert "F-SEEN <span" in html(mail) and "(déjà consulté)" in html(mail)


def test_all_viewed_still_sends_them_marked(rt, clock, marie_daily):
    seen = publish_at(rt, clock, local(2026, 11, 2, 10), "F-SEEN")
    View.create(user=marie_daily, document=seen, viewed_at=naive_utc(clock.now()))
    assert digests.run(rt, "daily", local(2026, 11, 3, 7)).created == 1
    assert "(déjà consulté)" in text(digest_messages(MARIE.email)[0])


def test_not_activated_gets_a_working_activation_link_activated_does_not(rt, clock, marie_daily):
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    digests.run(rt, "daily", local(2026, 11, 3, 7))
    link = next(line for line in text(digest_messages(MARIE.email)[0]).splitlines() if "/auth/" in line)
    assert tokens.peek(link.rsplit("/", 1)[1], clock.now()).purpose == "invitation"
    marie_daily.activated_at = naive_utc(clock.now())
    marie_daily.save()
    publish_at(rt, clock, local(2026, 11, 3, 10), "F-2")
    digests.run(rt, "daily", local(2026, 11, 4, 7))
    assert "/auth/" not in text(digest_messages(MARIE.email)[1])


def test_headers_reply_token_and_list_unsubscribe(rt, clock, marie_daily):
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    digests.run(rt, "daily", local(2026, 11, 3, 7))
    [mail] = digest_messages(MARIE.email)
    claim = rt.signer.read_reply_token(token_from_address(mail["Reply-To"], "reply"), clock.now().date())
    assert (claim.user_id, claim.customer_id, claim.purpose) == (marie_daily.id, None, "digest")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<https://portal.example.test/unsubscribe/" in mail["List-Unsubscribe"]
    assert mail["Auto-Submitted"] == "auto-generated"


def test_nothing_pending_means_no_mail(rt, clock, marie_daily):
    report = digests.run(rt, "daily", local(2026, 11, 3, 7))
    assert (report.recipients, report.created) == (0, 0) and Outbox.select().count() == 0


def test_running_the_same_period_twice_sends_once(rt, clock, marie_daily):
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    assert digests.run(rt, "daily", local(2026, 11, 3, 7)).created == 1
    again = digests.run(rt, "daily", local(2026, 11, 3, 9, 30))
    assert (again.recipients, again.created) == (0, 0)
    assert len(digest_messages(MARIE.email)) == 1 and digest_count() == 1


def test_an_existing_digest_of_the_period_is_skipped_and_its_notices_wait_for_the_next(rt, clock, marie_daily):
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    period = digests.period_for(rt, "daily", local(2026, 11, 3, 7))
    Digest.create(user=marie_daily, frequency="daily", period_start=period.start_utc, period_end=period.end_utc,
                  created_at=naive_utc(clock.now()))  # as if another scheduler had just sent it
    report = digests.run(rt, "daily", local(2026, 11, 3, 7))
    assert (report.created, report.skipped) == (0, 1) and Outbox.select().count() == 0
    assert pending_count(MARIE.email) == 1  # not lost
    assert digests.run(rt, "daily", local(2026, 11, 4, 7)).created == 1


def test_three_days_down_catches_up_with_one_digest_not_a_flood(rt, clock, marie_daily):
    for day in (2, 3, 4):
        publish_at(rt, clock, local(2026, 11, day, 10), f"F-{day}")
    report = digests.run(rt, "daily", local(2026, 11, 5, 12))  # back up at noon on the 5th
    assert report.created == 1
    [mail] = digest_messages(MARIE.email)
    assert numbers_in(mail, ["F-2", "F-3", "F-4"]) == ["F-2", "F-3", "F-4"]
    assert Digest.get().period_start == datetime(2026, 11, 3, 23)  # keyed by the latest due period
    assert digests.run(rt, "daily", local(2026, 11, 6, 7)).created == 0


def test_many_recipients_stream_in_small_chunks_one_digest_each(rt, clock):
    factories.customer(rt)
    emails = [f"person{i}@example.be" for i in range(7)]
    for email in emails:
        accounts.share(rt, "DL2123456", accounts.Person(email, "P", "Q", "en"))
        choose(rt, email, "daily")
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    publish_at(rt, clock, local(2026, 11, 2, 11), "F-2")
    seen: list[int] = []
    report = digests.run(rt, "daily", local(2026, 11, 3, 7), chunk=3, progress=seen.append)
    assert seen == [3, 3, 1] and report.created == 7
    assert all(numbers_in(digest_messages(email)[0], ["F-1", "F-2"]) == ["F-1", "F-2"] for email in emails)
    assert digest_messages(emails[0])[0]["Subject"] == "Your daily summary: 2 November 2026"


def test_daily_to_immediate_sends_the_pending_ones_now(rt, clock, marie_daily):
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    assert Outbox.select().count() == 0
    actions.set_frequency(rt, marie_daily, "immediate")
    assert [row.kind for row in Outbox.select()] == ["notice"]
    assert digests.run(rt, "daily", local(2026, 11, 3, 7)).created == 0


def test_daily_to_weekly_moves_pending_into_the_weekly_digest(rt, clock, marie_daily):
    publish_at(rt, clock, local(2026, 10, 28, 10), "F-1")
    actions.set_frequency(rt, marie_daily, "weekly")
    assert digests.run(rt, "daily", local(2026, 10, 29, 7)).created == 0
    assert digests.run(rt, "weekly", local(2026, 11, 2, 7)).created == 1
    assert numbers_in(digest_messages(MARIE.email)[0], ["F-1"]) == ["F-1"]


def test_stop_turns_everything_off_and_documents_stay_visible(rt, clock, marie_daily):
    doc = publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    actions.set_frequency(rt, marie_daily, "off", actor=MARIE.email)  # what STOP by reply does
    publish_at(rt, clock, local(2026, 11, 2, 12), "F-2")
    for frequency, moment in (("daily", local(2026, 11, 3, 7)), ("weekly", local(2026, 11, 9, 7)),
                              ("monthly", local(2026, 12, 1, 7))):
        assert digests.run(rt, frequency, moment).created == 0
    assert Outbox.select().count() == 0 and pending_count() == 0
    assert documents.get_visible(marie_daily, doc.id).number == "F-1"


def test_digest_run_command_prints_a_summary_and_dry_run_changes_nothing(rt, clock, marie_daily, tmp_path,
                                                                         database_url):
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    env = cli_env(tmp_path, database_url)
    dry = invoke_cli(rt, ["digest", "run", "--frequency", "daily", "--now", "2026-11-03T07:00",
                                   "--dry-run"], env=env, catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    assert "marie.dupont@example.be (fr): 1 documents: DL2123456: F-1" in dry.output
    assert "1 digests would be sent" in dry.output and Outbox.select().count() == 0
    real = invoke_cli(rt, ["digest", "run", "--frequency", "daily", "--now", "2026-11-03T07:00"],
                              env=env, catch_exceptions=False)
    assert real.exit_code == 0 and "1 recipients, 1 digests created, 0 skipped" in real.output
    assert digest_count() == 1


def test_digest_run_refuses_a_bad_moment(rt, tmp_path, database_url):
    result = invoke_cli(rt, ["digest", "run", "--frequency", "daily", "--now", "yesterday"],
                                env=cli_env(tmp_path, database_url))
    assert result.exit_code == 2 and "ISO date-time" in result.output


def test_delivered_through_the_relay(smtp_rt, relay, clock):
    factories.customer(smtp_rt)
    choose(smtp_rt, MARIE.email, "daily")
    publish_at(smtp_rt, clock, local(2026, 11, 2, 10), "F-1")
    clock.set(local(2026, 11, 3, 7))
    digests.run(smtp_rt, "daily")
    assert DeliveryWorker(smtp_rt).flush().sent == 1
    [got] = relay.to(MARIE.email)
    assert got.message["Subject"].startswith("Votre résumé quotidien")


def test_reads_and_writes_are_per_chunk_not_per_recipient(rt, clock, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("counts statements with SQLite's trace hook")
    factories.customer(rt)
    for i in range(9):
        accounts.share(rt, "DL2123456", accounts.Person(f"person{i}@example.be", "P", "Q", "en"))
        choose(rt, f"person{i}@example.be", "daily")
    for number in ("F-1", "F-2", "F-3"):
        publish_at(rt, clock, local(2026, 11, 2, 10), number)
    statements: list[str] = []
    rt.db.connection().set_trace_callback(statements.append)
    try:
        report = digests.run(rt, "daily", local(2026, 11, 3, 7), chunk=3)
    finally:
        rt.db.connection().set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert report.created == 9
    assert len(selects) <= 3 * 5 + 1  # per chunk of 3: ids, users, notices+documents, access, views; +1 last ids
    assert len(writes) == 3 * 4  # per chunk of 3: outbox rows, digest rows, notices update, activation tokens
