"""Login links asked for on the web: a row committed before the visitor is answered, mailed by the worker.

The request does the same work whether the address is known or not (one counter, one insert), so neither
its answer nor its timing tells a visitor which addresses have an account.
"""

from __future__ import annotations

from datetime import timedelta

from mailflow import actions, ratelimit, wakeup
from mailflow.clock import naive_utc
from mailflow.db import database, is_postgres
from mailflow.models import LoginRequest, User
from mailflow.runtime import Runtime

HOUR = timedelta(hours=1)
BATCH = 100


def ask(rt: Runtime, email: str, client: str) -> None:
    """Queue a login link for `email`; RateLimited when this client asked too often this hour.

    The per-client limit comes before anything about the address: a visitor spends their own budget.
    """
    limit = rt.config.limits.login_requests_per_ip_per_hour
    ratelimit.hit(f"login-ip:{client}", limit, HOUR, rt.now())
    LoginRequest.create(email=email.strip().lower(), client=client[:64], requested_at=naive_utc(rt.now()))
    wakeup.announce(wakeup.OUTBOX)  # the delivery worker mails it


def drain(rt: Runtime, limit: int = BATCH) -> int:
    """Mail the links asked for, in one transaction; requests for unknown addresses end silently."""
    with database.atomic():
        rows = list(_claimable(limit))
        for row in rows:
            _mail(rt, row)
        if rows:
            LoginRequest.delete().where(LoginRequest.id.in_([row.id for row in rows])).execute()
    return len(rows)


def _claimable(limit: int):
    query = LoginRequest.select().order_by(LoginRequest.id).limit(limit)
    # PostgreSQL: two workers draining at once take different rows instead of mailing one twice.
    return query.for_update(skip_locked=True) if is_postgres() else query


def _mail(rt: Runtime, row: LoginRequest) -> None:
    user = User.get_or_none(User.email == row.email)
    if user is not None:
        actions.login_link(rt, user, row.client)


def waiting() -> int:
    return LoginRequest.select().count()
