"""The scheduler role of `mailflow serve`: digests and lifecycle jobs, and delivery when no worker runs."""

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
    if not worker_role_running(rt):
        started.append(thread("scheduler-delivery", lambda: OutboxDelivery(rt).run(stop)))
    return started


def worker_role_running(rt: Runtime) -> bool:
    """Whether `serve` runs the worker role in this process; then delivery is left to it."""
    return "worker" in rt.roles


class OutboxDelivery:
    """Delivers the outbox from the scheduler role while this process runs no worker role."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.worker = DeliveryWorker(rt)

    def once(self) -> DeliveryReport | None:
        if worker_role_running(self.rt):
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
