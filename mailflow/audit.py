"""The audit trail: who did what to whom, kept even when raw data is purged."""

from __future__ import annotations

import json
from typing import Any

from mailflow.clock import naive_utc
from mailflow.models import AuditLog
from mailflow.runtime import Runtime


def record(rt: Runtime, actor: str, action: str, subject: str = "", **detail: Any) -> AuditLog:
    return AuditLog.create(at=naive_utc(rt.now()), actor=actor, action=action, subject=subject[:254],
                           detail=json.dumps(detail, default=str, sort_keys=True))
