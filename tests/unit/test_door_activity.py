"""The inbound worker of `serve` gives way to its SMTP door: it waits for a quiet door, but never for good."""

from __future__ import annotations

import time

from mailflow.inbound.smtp_server import DoorActivity


def waited(activity: DoorActivity, quiet: float, longest: float) -> float:
    started = time.monotonic()
    activity.wait_quiet(quiet, longest)
    return time.monotonic() - started


def test_a_door_nobody_used_lets_the_worker_go_at_once():
    assert waited(DoorActivity(), quiet=0.05, longest=30) < 5


def test_the_worker_waits_for_the_door_to_be_quiet_for_a_while():
    activity = DoorActivity()
    activity.touch()
    assert 0.05 <= waited(activity, quiet=0.05, longest=30) < 5


def test_a_message_being_received_holds_the_worker_back_but_not_for_good():
    activity = DoorActivity()
    with activity.receiving():
        assert activity.quiet_for() == 0.0
        assert 0.1 <= waited(activity, quiet=0.01, longest=0.1) < 5
    assert activity.in_data == 0 and activity.quiet_for() < 5  # the end of a message counts as activity
