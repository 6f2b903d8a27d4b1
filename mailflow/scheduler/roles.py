"""The scheduler role of `mailflow serve`: digests, lifecycle jobs, and delivery when no worker runs."""

from __future__ import annotations

import threading

from apscheduler.jobstores.base import BaseJobStore

from mailflow.runtime import Runtime
from mailflow.scheduler import jobs
from mailflow.serve import role, thread


@role("scheduler")
def start_scheduler(rt: Runtime, stop: threading.Event, jobstore: BaseJobStore | None = None) -> list[threading.Thread]:
    scheduler = jobs.start(rt, jobstore)
    return [thread("scheduler", lambda: jobs.stop_when(scheduler, stop))]
