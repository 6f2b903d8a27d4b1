"""APScheduler wiring: jobs with fixed ids and cron triggers in local time, catching up without a flood.

Each digest job runs at `[scheduler] digest_hour` local time (daily; weekly on `weekly_day`; monthly on
the 1st) and also once right after start. A run is idempotent and covers the latest due period plus
every older notification still pending, so a scheduler that was down for three days sends, on start,
ONE digest per recipient holding all three days (coalesced), keyed by the latest due period; the
periods it missed get no digest of their own. `coalesce=True` folds runs missed while the process was
alive (suspend, a long run) into one; `misfire_grace_time` lets a late run go ahead up to half a
period late; later than that the next regular run is nearer and catches up the same way.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from mailflow.config import SchedulerConfig
from mailflow.runtime import Runtime
from mailflow.scheduler import digests, retention
from mailflow.scheduler.periods import CADENCES

log = logging.getLogger(__name__)

DIGEST_GRACE = {"daily": timedelta(hours=12), "weekly": timedelta(days=3, hours=12),
                "monthly": timedelta(days=14)}
LIFECYCLE_JOB = "lifecycle"
LIFECYCLE_AT = (3, 30)  # local time: quiet, and done before the digests go out
LIFECYCLE_GRACE = timedelta(hours=12)


def digest_job_id(frequency: str) -> str:
    return f"digest-{frequency}"


def make_scheduler(rt: Runtime, jobstore: BaseJobStore | None = None) -> BackgroundScheduler:
    return BackgroundScheduler(
        jobstores={"default": jobstore or MemoryJobStore()}, executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1}, timezone=ZoneInfo(rt.config.scheduler.timezone))


def digest_trigger(frequency: str, cfg: SchedulerConfig) -> CronTrigger:
    days = {"daily": {}, "weekly": {"day_of_week": cfg.weekly_day}, "monthly": {"day": 1}}[frequency]
    return CronTrigger(hour=cfg.digest_hour, minute=0, timezone=ZoneInfo(cfg.timezone), **days)


def lifecycle_trigger(cfg: SchedulerConfig) -> CronTrigger:
    hour, minute = LIFECYCLE_AT
    return CronTrigger(hour=hour, minute=minute, timezone=ZoneInfo(cfg.timezone))


def add_jobs(scheduler: BackgroundScheduler, rt: Runtime, catch_up: bool = True) -> None:
    """Register every job; fixed ids and replace_existing make a second registration a no-op."""
    cfg = rt.config.scheduler
    start = {"next_run_time": datetime.now(ZoneInfo(cfg.timezone))} if catch_up else {}
    for frequency in CADENCES:
        _add(scheduler, digest_job_id(frequency), digest_trigger(frequency, cfg), DIGEST_GRACE[frequency],
             logged(rt, digest_job_id(frequency), lambda f=frequency: digests.run(rt, f).summary()), **start)
    _add(scheduler, LIFECYCLE_JOB, lifecycle_trigger(cfg), LIFECYCLE_GRACE,
         logged(rt, LIFECYCLE_JOB, lambda: retention.run_all(rt)), **start)


def _add(scheduler: BackgroundScheduler, job_id: str, trigger: object, grace: timedelta,
         func: Callable[[], None], **extra: object) -> None:
    scheduler.add_job(func, trigger, id=job_id, name=job_id, replace_existing=True, coalesce=True,
                      max_instances=1, misfire_grace_time=int(grace.total_seconds()), **extra)


def logged(rt: Runtime, name: str, work: Callable[[], object]) -> Callable[[], None]:
    """A job body: its own connection, its outcome logged, its failure logged and contained."""
    def run() -> None:
        try:
            with rt.db.connection_context():
                outcome = work()
        except Exception:  # a failing job logs; the scheduler and the other jobs go on
            log.exception("scheduled job %s failed", name)
            return
        log.info("scheduled job %s: %s", name, outcome)
    return run


def start(rt: Runtime, jobstore: BaseJobStore | None = None, catch_up: bool = True) -> BackgroundScheduler:
    # APScheduler's executor logs two lines per run at INFO; ours already say what each job did
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    scheduler = make_scheduler(rt, jobstore)
    add_jobs(scheduler, rt, catch_up)
    scheduler.start()
    log.info("scheduler started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    return scheduler


def stop_when(scheduler: BackgroundScheduler, stop: threading.Event) -> None:
    stop.wait()
    scheduler.shutdown(wait=True)
