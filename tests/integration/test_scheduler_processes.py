"""The scheduler as it runs: APScheduler jobs with fixed ids and deliberate misfire handling, a catch-up
on start that is not a flood, delivery only where configured so, and two processes sending each digest once."""

from __future__ import annotations

import logging
import os
import pty
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest
from apscheduler.jobstores.memory import MemoryJobStore

from mailflow import accounts
from mailflow.config import PROJECT_ROOT
from mailflow.models import Digest, Notification, Outbox
from mailflow.scheduler import jobs
from mailflow.scheduler.periods import Schedule, covered_by, due_at
from mailflow.scheduler.roles import OutboxDelivery, start_scheduler
from tests.support import factories
from tests.support.env import PG_URL
from tests.support.factories import JAN, MARIE
from tests.support.scheduler import (
    BRUSSELS, choose, cli_env, digest_messages, local, numbers_in, pending_count, publish_at,
)


JOB_IDS = {"digest-daily", "digest-weekly", "digest-monthly", "lifecycle"}


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for another thread or process to get somewhere; the deadline only guards against hangs."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


@pytest.fixture
def scheduler(rt):
    started = jobs.start(rt, catch_up=False)
    yield started
    started.shutdown(wait=True)


def test_jobs_have_fixed_ids_local_cron_triggers_coalesce_and_misfire_grace(scheduler):
    found = {job.id: job for job in scheduler.get_jobs()}
    assert set(found) == JOB_IDS
    assert all(job.coalesce and job.max_instances == 1 for job in found.values())
    grace = {job_id: job.misfire_grace_time for job_id, job in found.items()}
    assert grace == {"digest-daily": 12 * 3600, "digest-weekly": 84 * 3600, "digest-monthly": 14 * 86400,
                     "lifecycle": 12 * 3600}
    assert str(found["digest-daily"].trigger) == "cron[hour='7', minute='0']"
    assert str(found["digest-weekly"].trigger) == "cron[day_of_week='mon', hour='7', minute='0']"
    assert str(found["digest-monthly"].trigger) == "cron[day='1', hour='7', minute='0']"
    assert str(found["lifecycle"].trigger) == "cron[hour='3', minute='30']"
    assert found["digest-daily"].trigger.timezone == BRUSSELS


def test_registering_again_replaces_instead_of_duplicating(rt, scheduler):
    jobs.add_jobs(scheduler, rt, catch_up=False)
    jobs.add_jobs(scheduler, rt)
    assert sorted(job.id for job in scheduler.get_jobs()) == sorted(JOB_IDS)


@pytest.mark.parametrize(("job_id", "after", "expected_utc"), [
    ("digest-daily", datetime(2026, 3, 28, 8), datetime(2026, 3, 29, 5)),  # CEST from 29 March
    ("digest-daily", datetime(2026, 3, 27, 8), datetime(2026, 3, 28, 6)),
    ("digest-daily", datetime(2026, 10, 25, 8), datetime(2026, 10, 26, 6)),  # CET from 25 October
    ("digest-daily", datetime(2026, 10, 24, 8), datetime(2026, 10, 25, 6)),
    ("digest-weekly", datetime(2026, 3, 24, 12), datetime(2026, 3, 30, 5)),
    ("digest-weekly", datetime(2026, 10, 20, 12), datetime(2026, 10, 26, 6)),
    ("digest-monthly", datetime(2026, 3, 15, 12), datetime(2026, 4, 1, 5)),
    ("digest-monthly", datetime(2026, 10, 15, 12), datetime(2026, 11, 1, 6)),
])
def test_triggers_fire_at_seven_local_across_dst_and_agree_with_periods(rt, scheduler, job_id, after,
                                                                       expected_utc):
    trigger = scheduler.get_job(job_id).trigger
    fire = trigger.get_next_fire_time(None, after.replace(tzinfo=BRUSSELS))
    assert fire.astimezone(timezone.utc).replace(tzinfo=None) == expected_utc
    schedule = Schedule.from_config(rt.config.scheduler)
    period = covered_by(job_id.removeprefix("digest-"), fire, schedule)
    assert due_at(period, schedule) == fire
    assert covered_by(period.frequency, fire - timedelta(seconds=1), schedule).end_day < period.end_day


def test_starting_the_role_twice_against_the_same_job_store_does_not_duplicate_jobs(rt):
    store = MemoryJobStore()
    for _ in range(2):
        stop = threading.Event()
        threads = start_scheduler(rt, stop, jobstore=store)
        assert sorted(job.id for job in store.get_all_jobs()) == sorted(JOB_IDS)
        stop.set()
        for worker in threads:
            worker.join(timeout=30)
        assert not any(worker.is_alive() for worker in threads)


def run_role_until(rt, condition: Callable[[], bool]) -> None:
    stop = threading.Event()
    threads = start_scheduler(rt, stop)
    try:
        wait_for(condition)
    finally:
        stop.set()
        for worker in threads:
            worker.join(timeout=30)


def test_down_for_three_days_catches_up_on_start_with_one_digest_each(rt, clock, caplog):
    factories.customer(rt)
    factories.share(rt)
    choose(rt, MARIE.email, "daily")
    choose(rt, JAN.email, "weekly")
    publish_at(rt, clock, local(2026, 10, 28, 10), "F-WEEK")
    for day in (2, 3, 4):
        publish_at(rt, clock, local(2026, 11, day, 10), f"F-{day}")
    clock.set(local(2026, 11, 5, 12))  # the scheduler comes back at noon on Thursday the 5th
    with caplog.at_level(logging.INFO, logger="mailflow.scheduler.jobs"):
        run_role_until(rt, lambda: Digest.select().count() == 2 and "job digest-monthly:" in caplog.text)
    [marie] = digest_messages(MARIE.email)
    assert numbers_in(marie, ["F-WEEK", "F-2", "F-3", "F-4"]) == ["F-WEEK", "F-2", "F-3", "F-4"]
    [jan] = digest_messages(JAN.email)  # weekly: the week to Sunday 1 November; this week's wait for Monday
    assert numbers_in(jan, ["F-WEEK", "F-2", "F-3", "F-4"]) == ["F-WEEK"]
    assert pending_count(JAN.email) == 3 and pending_count(MARIE.email) == 0
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mailflow.scheduler.jobs"):  # a restart sends nothing again
        run_role_until(rt, lambda: all(f"job digest-{f}:" in caplog.text for f in ("daily", "weekly", "monthly")))
    assert Digest.select().count() == 2 and Outbox.select().where(Outbox.kind == "digest").count() == 2


def test_scheduler_delivers_the_outbox_when_configured_to_and_no_worker_role_runs(smtp_rt, relay, clock):
    factories.customer(smtp_rt)
    factories.document(smtp_rt)  # an immediate notice, queued
    smtp_rt.config.outbound.poll_seconds = 0.1
    smtp_rt.config.scheduler.deliver = True
    run_role_until(smtp_rt, lambda: len(relay.received) == 1)
    assert Outbox.get().status == "sent"


def test_scheduler_leaves_delivery_to_the_worker_role_unless_configured_to_deliver(rt):
    factories.customer(rt)
    factories.document(rt)
    rt.config.scheduler.deliver = True
    rt.roles = frozenset({"scheduler", "worker"})  # as `serve` with both roles
    assert OutboxDelivery(rt).once() is None
    rt.config.scheduler.deliver = False
    rt.roles = frozenset({"scheduler"})  # a split deployment's scheduler process
    assert OutboxDelivery(rt).once() is None
    assert Outbox.get().status == "queued"
    rt.config.scheduler.deliver = True
    assert OutboxDelivery(rt).once().sent == 1


def test_a_failing_job_logs_and_the_scheduler_goes_on(rt, caplog):
    def boom() -> None:
        raise RuntimeError("database on fire")

    with caplog.at_level(logging.INFO, logger="mailflow.scheduler.jobs"):
        jobs.logged(rt, "digest-daily", boom)()
        jobs.logged(rt, "lifecycle", lambda: {"purge_documents": 0})()
    assert "scheduled job digest-daily failed" in caplog.text and "database on fire" in caplog.text
    assert "scheduled job lifecycle: {'purge_documents': 0}" in caplog.text


RECIPIENTS = 60


def many_daily_recipients(rt, clock) -> None:
    factories.customer(rt)
    choose(rt, MARIE.email, "daily")
    for i in range(RECIPIENTS - 1):
        email = f"colleague{i:03d}@example.be"
        accounts.share(rt, "DL2123456", accounts.Person(email, "C", str(i), "nl"))
        choose(rt, email, "daily")
    for number in ("F-1", "F-2", "F-3"):
        publish_at(rt, clock, local(2026, 11, 2, 10), number)


def two_processes_send_each_digest_once(rt, clock, tmp_path, database_url) -> None:
    many_daily_recipients(rt, clock)
    command = [sys.executable, "-m", "mailflow", "digest", "run", "--frequency", "daily",
               "--now", "2026-11-03T07:00", "--batch", "7"]
    env = cli_env(tmp_path, database_url)
    runs = [subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    created = [int(re.search(r"(\d+) digests created", out).group(1)) for out, _ in outputs]
    assert sum(created) == RECIPIENTS
    digests = list(Digest.select())
    assert len(digests) == RECIPIENTS and len({d.user_id for d in digests}) == RECIPIENTS
    rows = Outbox.select().where(Outbox.kind == "digest")
    assert rows.count() == RECIPIENTS and len({row.recipient for row in rows}) == RECIPIENTS
    notes = list(Notification.select())
    assert {note.status for note in notes} == {"digested"}
    owner = {d.id: d.user_id for d in digests}
    assert all(owner[note.digest_id] == note.user_id for note in notes)
    assert all(len(numbers_in(message, ["F-1", "F-2", "F-3"])) == 3 for message in digest_messages(MARIE.email))


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="needs MAILFLOW_TEST_DATABASE_URL (PostgreSQL)")
def test_two_processes_on_one_postgresql_database_send_each_digest_once(rt, clock, tmp_path, database_url):
    two_processes_send_each_digest_once(rt, clock, tmp_path, database_url)


@pytest.mark.skipif(bool(PG_URL), reason="the SQLite variant of the test above")
def test_two_processes_on_one_sqlite_file_send_each_digest_once(rt, clock, tmp_path, database_url):
    two_processes_send_each_digest_once(rt, clock, tmp_path, database_url)


def read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other end of the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_digest_run_shows_a_progress_bar_on_a_terminal(rt, clock, tmp_path, database_url):
    factories.customer(rt)
    choose(rt, MARIE.email, "daily")
    publish_at(rt, clock, local(2026, 11, 2, 10), "F-1")
    terminal, child_end = pty.openpty()
    command = [sys.executable, "-m", "mailflow", "digest", "run", "--frequency", "daily", "--now", "2026-11-03T07:00"]
    run = subprocess.Popen(command, env=cli_env(tmp_path, database_url), cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                           stderr=child_end, text=True)
    os.close(child_end)
    shown: list[str] = []
    reader = threading.Thread(target=lambda: shown.append(read_all(terminal)), daemon=True)
    reader.start()  # drain the terminal while the child runs, so it never blocks writing to it
    summary, _ = run.communicate(timeout=120)
    reader.join(timeout=30)
    os.close(terminal)
    assert run.returncode == 0 and "1 digests created" in summary
    assert "daily digests" in shown[0] and "100%" in shown[0]
