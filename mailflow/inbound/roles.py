"""The inbound role of `mailflow serve`; nothing to run until this side exists."""

from __future__ import annotations

import threading

from mailflow.runtime import Runtime
from mailflow.serve import role


@role("inbound")
def start_inbound(rt: Runtime, stop: threading.Event) -> list[threading.Thread]:
    return []
