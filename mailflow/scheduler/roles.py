"""The scheduler role of `mailflow serve`: digests and lifecycle jobs, and delivery only where configured so."""

from __future__ import annotations

import logging
import threading

from apscheduler.jobstores.base import BaseJobStore

from mailflow import wakeup, worker
from mailflow.outbound.delivery import DeliveryReport, DeliveryWorker
from mailflow.runtime import Runtime
from mailflow.scheduler import jobs
from mailflow.serve import role, thread

log = logging.getLogger(__name__)

@role("scheduler")
def start_scheduler(rt: Runtime, stop: threading.Event,
                    jobstore: BaseJobStore | None = None) -> list[threading.Thread]:
    scheduler = jobs.start(rt, jobstore)
    started = [thread("scheduler", lambda: jobs.stop_when(scheduler, stop))]
    say_who_delivers(rt)
    if scheduler_delivers(rt):
        started.append(thread("scheduler-delivery", lambda: OutboxDelivery(rt).run(stop)))
    return started


def worker_role_running(rt: Runtime) -> bool:
    """Whether `serve` runs the worker role in this process; then delivery is left to it."""
    return "worker" in rt.roles


def scheduler_delivers(rt: Runtime) -> bool:
    """Delivery is the worker role's job: the scheduler delivers only when told to ([scheduler] deliver, for a
    deployment without worker processes), and never beside a worker role of its own process."""
    return rt.config.scheduler.deliver and not worker_role_running(rt)


def say_who_delivers(rt: Runtime) -> None:
    if worker_role_running(rt):
        log.info("outbox delivered by this process's worker role")
    elif scheduler_delivers(rt):
        log.info("outbox delivered by the scheduler role ([scheduler] deliver = true)")
    else:  # a split deployment's scheduler process: right there, but the operator should know nobody here sends
        log.warning("this process does not deliver the outbox (scheduler role without worker role, [scheduler] "
                    "deliver = false): worker processes must run; expected in a split deployment")


class OutboxDelivery:
    """Delivers the outbox from the scheduler role where configured to ([scheduler] deliver) and no worker role
    runs in this process."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.worker = DeliveryWorker(rt)

    def once(self) -> DeliveryReport | None:
        if not scheduler_delivers(self.rt):
            return None
        report = self.worker.run_once()
        if report.handled:
            log.info("outbox delivered by the scheduler: sent %d, deferred %d, failed %d, suppressed %d",
                     report.sent, report.deferred, report.failed, report.suppressed)
        return report

    def run(self, stop: threading.Event) -> None:
        worker.run(self.rt, "scheduler delivery", self._batch, wakeup.OUTBOX, self.rt.config.outbound.poll_seconds,
                   stop)

    def _batch(self) -> bool:
        report = self.once()
        return bool(report and report.handled)
