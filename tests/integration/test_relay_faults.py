"""A relay that refuses, stalls or hangs up at every SMTP stage: each mail is retried or failed as it should be,
with the relay's answer kept, and once the relay is healthy again every mail not failed arrives exactly once."""

from __future__ import annotations

from collections import Counter

import pytest

from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.delivery import DeliveryWorker
from tests.support.faulty_relay import DROP, STALL, Fault, FaultyRelay

ANSWERS = {
    "421": "421 4.3.2 Service shutting down",
    "451": "451 4.3.0 Try again later",
    "452": "452 4.3.1 Insufficient system storage",
    "550": "550 5.7.1 Relaying denied",
    "554": "554 5.3.0 Transaction failed",
}
MAILS = 3
HANDED_BACK = "connection lost earlier in batch"

# What one batch of MAILS mails comes to:
#   refused   the session never started: every mail deferred with the answer, none tried
#   temporary each mail deferred with the answer, on the same connection
#   permanent each mail failed with the answer, on the same connection
#   hung_up   the first mail deferred with the answer, the rest handed back untried, due at once
# A 5xx greeting refuses the relay, not the mail: like Postfix (smtp_skip_5xx_greeting) it is retried later.
CASES = [(Fault("greeting", answer), "refused") for answer in ANSWERS.values()]
CASES += [(Fault("greeting", action), "refused") for action in (STALL, DROP)]
for _stage in ("MAIL", "RCPT", "DATA", "end"):
    CASES += [(Fault(_stage, ANSWERS["421"]), "hung_up"),
              (Fault(_stage, ANSWERS["451"]), "temporary"), (Fault(_stage, ANSWERS["452"]), "temporary"),
              (Fault(_stage, ANSWERS["550"]), "permanent"), (Fault(_stage, ANSWERS["554"]), "permanent"),
              (Fault(_stage, STALL), "hung_up"), (Fault(_stage, DROP), "hung_up")]
CASES += [(Fault("body", DROP), "hung_up")]
# A reply that is no SMTP reply, or a success out of turn, leaves the dialogue untrustworthy: never "sent".
GARBLED, OUT_OF_TURN = "hello there", "250 2.0.0 Ok"
CASES += [(Fault("MAIL", GARBLED), "hung_up"), (Fault("DATA", OUT_OF_TURN), "hung_up"),
          (Fault("end", GARBLED), "hung_up")]


def _case_id(case: tuple[Fault, str]) -> str:
    fault = case[0]
    return f"{fault.stage}-{'garbled' if fault.action == GARBLED else fault.action.split()[0]}"


def fill(rt) -> list[int]:
    """MAILS mails, each large enough that a relay hanging up mid-DATA really cuts one off."""
    body = "\r\n".join(f"line {n:05d} of a long enough message" for n in range(2000))
    for n in range(MAILS):
        raw = f"Message-ID: <fault-{n}@test>\r\nSubject: fault {n}\r\n\r\n{body}\r\n".encode()
        outbox.enqueue(outbox.Mail(f"<fault-{n}@test>", raw, f"user{n}@example.be", f"fault {n}", "notice"),
                       rt.now())
    return [row.id for row in Outbox.select().order_by(Outbox.id)]


def use_relay(rt, port: int, timeout: float) -> None:
    cfg = rt.config.outbound
    cfg.transport, cfg.smtp_host, cfg.smtp_port, cfg.smtp_timeout = "smtp", "127.0.0.1", port, timeout
    rt.__dict__.pop("transport", None)


def rows(ids: list[int]) -> list[Outbox]:
    return [Outbox.get_by_id(row_id) for row_id in ids]


def expected_answer(fault: Fault) -> str:
    """What the stored answer must contain (the relay's own words when it said any)."""
    if fault.action == STALL:
        return "timed out"
    if fault.action == DROP:
        return "relay unreachable" if fault.stage == "greeting" else "connection lost"
    if fault.action in (GARBLED, OUT_OF_TURN):
        return "unexpected answer"
    return fault.action


def assert_backed_off(row: Outbox, rt, answer: str) -> None:
    delay = outbox.retry_delay(row.attempts, rt.config.outbound.retry_initial_seconds,
                               rt.config.outbound.retry_max_seconds)
    assert (row.status, row.attempts) == ("deferred", 1), row.last_response
    assert answer in row.last_response
    assert row.next_attempt_at == (rt.now() + delay).replace(tzinfo=None)


def check_batch(rt, outcome: str, fault: Fault, batch: list[Outbox], relay: FaultyRelay) -> None:
    answer = expected_answer(fault)
    if outcome == "permanent":
        assert all(r.status == "failed" and answer in r.last_response for r in batch)
    elif outcome == "hung_up":
        assert_backed_off(batch[0], rt, answer)
        for rest in batch[1:]:  # handed back, not failed and not waiting for a back-off
            assert (rest.status, rest.last_response) == ("deferred", HANDED_BACK)
            assert rest.next_attempt_at == rt.now().replace(tzinfo=None)
    else:
        for row in batch:
            assert_backed_off(row, rt, answer)
    tried = {"refused": 0, "hung_up": 1}.get(outcome, MAILS)
    assert relay.transactions == tried


@pytest.mark.parametrize("fault,outcome", CASES, ids=[_case_id(c) for c in CASES])
def test_relay_fault_is_retried_or_failed_and_nothing_is_lost(rt, relay, clock, fault, outcome):
    ids = fill(rt)
    with FaultyRelay(fault) as faulty:
        use_relay(rt, faulty.port, timeout=0.5 if fault.action == STALL else 5.0)
        DeliveryWorker(rt).run_once()
        batch = rows(ids)
        check_batch(rt, outcome, fault, batch, faulty)
    use_relay(rt, relay.port, timeout=5.0)  # the relay is healthy again
    clock.advance(seconds=rt.config.outbound.retry_max_seconds)
    DeliveryWorker(rt).flush()
    failed = {r.message_id for r in batch if r.status == "failed"}
    delivered = Counter(received.message["Message-ID"] for received in relay.received)
    assert set(delivered) == {r.message_id for r in batch} - failed and set(delivered.values()) <= {1}
    assert {r.status for r in rows(ids) if r.message_id not in failed} <= {"sent"}
    assert all(r.status == "failed" for r in rows(ids) if r.message_id in failed)


def test_a_stalled_relay_is_left_behind_after_its_timeout_and_the_mail_retried(rt, relay, clock):
    ids = fill(rt)
    with FaultyRelay(Fault("end", STALL)) as faulty:
        use_relay(rt, faulty.port, timeout=0.5)
        report = DeliveryWorker(rt).flush()  # each mail in turn meets the stall, on a new connection
        assert (report.sent, report.failed, faulty.transactions) == (0, 0, MAILS)
        assert all("timed out" in r.last_response and r.status == "deferred" for r in rows(ids))
    use_relay(rt, relay.port, timeout=5.0)
    clock.advance(hours=1)
    assert DeliveryWorker(rt).flush().sent == MAILS
    assert sorted(r.message["Message-ID"] for r in relay.received) == [f"<fault-{n}@test>" for n in range(MAILS)]
