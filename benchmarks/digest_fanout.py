"""digest_fanout: daily digests rendered, composed and enqueued per second by the real digest run, with its
peak memory, against rendering the same `digest.html` for the same data with Jinja alone."""

from __future__ import annotations

import resource
import tracemalloc
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from peewee import chunked, fn

from benchmarks.common import Result, Timer, scratch_runtime
from mailflow import bulk, i18n
from mailflow.db import is_postgres
from mailflow.models import (
    Access, Customer, Digest, Document, Issuer, Notification, Outbox, Preference, User, View,
)
from mailflow.outbound import mails
from mailflow.runtime import Runtime
from mailflow.scheduler import digests

PER_RECIPIENT = 5
FULL, QUICK = 100_000, 1_000
TRACED = 2_000  # recipients of the second, tracemalloc-traced run (tracing slows Python down several times)
BASELINE_SAMPLE = 20_000  # the bare render loop's rate is flat over recipients: a sample of them is enough
SETUP_CHUNK = 5_000
LANGUAGES = ("fr", "nl", "fr", "nl", "en")  # roughly Belgium's mix
DAY = date(2026, 11, 2)
BRUSSELS = ZoneInfo("Europe/Brussels")


@dataclass(frozen=True)
class Ids:
    """First ids of each table's rows made here, so a database that is not empty still works."""

    user: int
    customer: int
    document: int

    @classmethod
    def after_existing(cls) -> "Ids":
        return cls(*[(model.select(fn.MAX(model.id)).scalar() or 0) + 1 for model in (User, Customer, Document)])


def moment(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=BRUSSELS)


def naive(when: datetime) -> datetime:
    return when.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def person(n: int, ids: Ids) -> dict[str, object]:
    """Recipient n: a quarter not activated yet (their digest carries an activation link)."""
    return {"email": f"user{ids.user + n:07d}@example.be", "first_name": f"Prénom{n}", "last_name": f"Nom{n}",
            "language": LANGUAGES[n % len(LANGUAGES)], "activated": n % 4 != 0}


def customer_number(n: int, ids: Ids) -> str:
    return f"DL2{ids.customer + n:07d}"


def document_fields(n: int, k: int, day: date, ids: Ids) -> dict[str, object]:
    number = f"F{day:%Y%m%d}-{ids.customer + n:07d}-{k}"
    return {"number": number, "number_key": number.replace("-", "").lower(),
            "type": "credit_note" if k == PER_RECIPIENT - 1 else "invoice", "date": day,
            "amount_cents": 1_000 + (n * 7919 + k * 104_729) % 900_000, "currency": "EUR"}


def seed_people(rt: Runtime, count: int, ids: Ids) -> None:
    """Users, their customer numbers, access and a daily preference: bulk inserts, one transaction a chunk."""
    issuer = Issuer.get(Issuer.prefix == "DL2").id
    created = naive(moment(DAY, 0) - timedelta(days=30))
    for start in range(0, count, SETUP_CHUNK):
        numbers = range(start, min(count, start + SETUP_CHUNK))
        with rt.db.atomic():
            insert(User, [_user_row(n, ids, created) for n in numbers])
            insert(Customer, [{"id": ids.customer + n, "number": customer_number(n, ids), "issuer": issuer,
                               "company": f"Société {n} SRL", "primary_user": ids.user + n,
                               "created_at": created} for n in numbers])
            insert(Access, [{"user": ids.user + n, "customer": ids.customer + n, "role": "primary",
                             "created_at": created} for n in numbers])
            insert(Preference, [{"user": ids.user + n, "customer": ids.customer + n, "frequency": "daily",
                                 "updated_at": created} for n in numbers])


def _user_row(n: int, ids: Ids, created: datetime) -> dict[str, object]:
    data = person(n, ids)
    return {"id": ids.user + n, "email": data["email"], "first_name": data["first_name"],
            "last_name": data["last_name"], "language": data["language"],
            "activated_at": created if data["activated"] else None, "created_at": created}


def seed_documents(rt: Runtime, count: int, ids: Ids, day: date, offset: int) -> None:
    """Five documents published on `day` per recipient, each with its pending daily notification.

    Inserted directly rather than published: publishing would also send immediate mails.
    `offset` numbers this day's documents after the ones already made.
    """
    issuer = Issuer.get(Issuer.prefix == "DL2").id
    published = naive(moment(day, 10))
    for start in range(0, count, SETUP_CHUNK):
        numbers = range(start, min(count, start + SETUP_CHUNK))
        with rt.db.atomic():
            insert(Document, [_document_row(n, k, ids, day, offset, issuer, published)
                              for n in numbers for k in range(PER_RECIPIENT)])
            insert(Notification, [{"user": ids.user + n, "customer": ids.customer + n,
                                   "document": _document_id(n, k, ids, offset), "frequency": "daily",
                                   "status": "pending", "created_at": published}
                                  for n in numbers for k in range(PER_RECIPIENT)])
            # one recipient in ten already opened their first document in the viewer
            insert(View, [{"user": ids.user + n, "document": _document_id(n, 0, ids, offset),
                           "viewed_at": published} for n in numbers if n % 10 == 0])


def _document_id(n: int, k: int, ids: Ids, offset: int) -> int:
    return ids.document + offset + n * PER_RECIPIENT + k


def _document_row(n: int, k: int, ids: Ids, day: date, offset: int, issuer: int,
                  published: datetime) -> dict[str, object]:
    return {"id": _document_id(n, k, ids, offset), "issuer": issuer, "customer": ids.customer + n,
            "pdf_sha256": f"{n:064x}", "pdf_size": 40_000, "pdf_name": f"doc-{n}-{k}.pdf",
            "created_at": published, **document_fields(n, k, day, ids)}


def insert(model, rows: list[dict[str, object]]) -> None:
    """Multi-row inserts (peewee's insert_many builds a node per value: setup took a minute)."""
    if not rows:
        return
    fields = [model._meta.fields[name] for name in rows[0]]
    bulk.insert(fields, [tuple(row.values()) for row in rows])


def fix_sequences(rt: Runtime) -> None:
    """PostgreSQL: rows inserted with explicit ids leave the id sequences behind."""
    if not is_postgres():
        return
    for model in (User, Customer, Document):
        table = model._meta.table_name
        rt.db.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                          f"(SELECT MAX(id) FROM \"{table}\"))")


def baseline_contexts(rt: Runtime, numbers: range, ids: Ids) -> Iterator[tuple[str, dict[str, object]]]:
    """The template context the digest run builds for recipient n, made from the same data, no database."""
    period = digests.period_for(rt, "daily", moment(DAY + timedelta(days=1), 7))
    for n in numbers:
        data, language = person(n, ids), LANGUAGES[n % len(LANGUAGES)]
        user = SimpleNamespace(id=ids.user + n, **data)
        customer = SimpleNamespace(number=customer_number(n, ids), company=f"Société {n} SRL")
        docs = [SimpleNamespace(**document_fields(n, k, DAY, ids)) for k in range(PER_RECIPIENT)]
        entries = [SimpleNamespace(document=doc, viewed=n % 10 == 0 and k == 0, type_label=mails.TYPE_LABELS[doc.type])
                   for k, doc in enumerate(docs)]
        url = rt.url("documents?" + urlencode({"customer": customer.number, "date_from": DAY.isoformat(),
                                                "date_to": DAY.isoformat()}))
        invitation = None if data["activated"] else rt.url("auth/" + "x" * 43)
        yield language, {
            "user": user, "groups": [digests.ShownGroup(customer, entries, url)],  # as the run hands them over
            "frequency": "daily", "period_label": digests.period_label(period, language),
            "issuer_name": "Lease Services", "viewer_url": rt.url("documents"),
            "unsubscribe_url": rt.url("unsubscribe/" + "y" * 40), "action_url": invitation,
            "action_label": i18n.gettext(language, "Activate my account") if invitation else "",
            "invitation_url": invitation, "invitation_days": rt.config.security.invitation_days}


def bare_render(rt: Runtime, count: int, ids: Ids) -> tuple[float, int]:
    """Renders per second of `digest.html` alone; contexts are built outside the timed part."""
    for language, context in baseline_contexts(rt, range(2 * len(LANGUAGES)), ids):
        rt.renderer.template(language, "digest.html").render(context)  # compile each language's template first
    i18n.money.cache_clear()  # so the loop formats every amount, as the run does once per mail
    # the first recipients: they cycle through every language, activation state and viewed mark like the rest
    contexts = baseline_contexts(rt, range(min(count, BASELINE_SAMPLE)), ids)
    seconds, done = 0.0, 0
    for batch in chunked(contexts, 1_000):
        with Timer() as timer:
            for language, context in batch:
                rt.renderer.template(language, "digest.html").render(context)
        seconds, done = seconds + timer.seconds, done + len(batch)
    return done / seconds, done


def reset_peak_rss() -> bool:
    """Linux: restart the peak-RSS high-water mark, so it covers the measured run only."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """VmHWM (peak resident set since the last reset), or the process's ru_maxrss where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return process_max_rss_mb()


def process_max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed_run(rt: Runtime, count: int) -> tuple[float, float]:
    """The measured digest run: digests per second and the peak RSS while it ran."""
    reset_peak_rss()
    with Timer() as timer:
        report = digests.run(rt, "daily", moment(DAY + timedelta(days=1), 7))
    assert (report.created, report.skipped) == (count, 0), report.summary()
    return count / timer.seconds, peak_rss_mb()


def traced_run(rt: Runtime, count: int, ids: Ids, made: int) -> float:
    """The next day's digests for `count` recipients with tracemalloc on: the Python heap's peak in MB."""
    day = DAY + timedelta(days=1)
    seed_documents(rt, count, ids, day, offset=PER_RECIPIENT * made)
    tracemalloc.start()
    try:
        report = digests.run(rt, "daily", moment(day + timedelta(days=1), 7))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.created == count, report.summary()
    return peak / 2**20


def check(count: int) -> None:
    assert Outbox.select().where(Outbox.kind == "digest").count() == count
    assert Digest.select().count() == count
    assert not Notification.select().where(Notification.status == "pending").exists()


def run(quick: bool) -> list[Result]:
    count = QUICK if quick else FULL
    traced = min(TRACED, count) // (2 if quick else 1)
    with scratch_runtime() as rt:
        ids = Ids.after_existing()
        with Timer() as setup:
            seed_people(rt, count, ids)
            seed_documents(rt, count, ids, DAY, offset=0)
            fix_sequences(rt)
        before, sampled = bare_render(rt, count, ids)
        rate, peak = timed_run(rt, count)
        after, _ = bare_render(rt, count, ids)  # before and after: the machine's pace drifts over a long run
        heap = traced_run(rt, traced, ids, made=count)
        check(count + traced)
    rss_ok = "ok" if peak <= 300 else "OVER 300 MB"
    return [Result("digest_fanout", rate, "digests/s", (before + after) / 2, "≥ 0.3×",
                   f"{count:,} recipients × {PER_RECIPIENT} docs; peak RSS {peak:.0f} MB during the run "
                   f"({rss_ok}; process max {process_max_rss_mb():.0f} MB); Python heap peak {heap:.1f} MB "
                   f"(tracemalloc, {traced:,} recipients); baseline over {sampled:,}, mean of {before:,.0f} before and "
                   f"{after:,.0f} after the run; setup {setup.seconds:.0f}s")]
