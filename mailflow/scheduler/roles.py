"""The scheduler role of `mailflow serve`: digests and lifecycle jobs, and delivery when no worker runs."""

from __future__ import annotations

import logging
import threading

from apscheduler.jobstores.base import BaseJobStore

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
        while not stop.is_set():
            try:
                report = self.once()
            except Exception:  # a broken batch must not end delivery for good
                log.exception("outbox delivery from the scheduler failed")
                report = None
            if not (report and report.handled):
                stop.wait(self.rt.config.outbound.poll_seconds)
        self.rt.db.close()  # this thread's own connection
