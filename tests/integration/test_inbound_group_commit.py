"""Group commit at the SMTP door: messages finished together share one commit, and one bad message or one
session that hangs up costs nobody else their answer."""

from __future__ import annotations

import asyncio

import pytest

from mailflow.errors import StorageError
from mailflow.inbound.committer import GroupCommitter
from mailflow.models import InboundMessage
from tests.support.inbound import REPLY_DOMAIN, message

RCPT = [f"reply@{REPLY_DOMAIN}"]


def counted(committer: GroupCommitter) -> list[int]:
    """The size of each batch `committer` writes, in order."""
    sizes: list[int] = []
    write = committer.commit
    committer.commit = lambda items: (sizes.append(len(items)), write(items))[1]  # type: ignore[method-assign]
    return sizes


async def store_all(committer: GroupCommitter, raws: list[bytes], senders: list[str] | None = None) -> list:
    senders = senders or ["someone@example.be"] * len(raws)
    stores = [committer.store(raw, "smtp", sender, RCPT) for raw, sender in zip(raws, senders)]
    return await asyncio.gather(*stores, return_exceptions=True)


async def test_messages_finished_together_share_one_commit(rt):
    committer = GroupCommitter(rt)
    sizes = counted(committer)
    raws = [message(message_id=f"<m{n}@client.example>") for n in range(10)]
    ids = await store_all(committer, [*raws, raws[3]])  # the same message twice: one row
    assert sizes == [11]
    assert len(set(ids)) == 10 and ids[10] == ids[3]
    assert sorted(bytes(row.raw) for row in InboundMessage.select()) == sorted(raws)


async def test_a_batch_is_capped_and_the_rest_follow(rt):
    committer = GroupCommitter(rt, max_batch=4)
    sizes = counted(committer)
    ids = await store_all(committer, [message() for _ in range(10)])
    assert sizes == [4, 4, 2] and len(set(ids)) == 10


async def test_one_message_the_database_refuses_fails_alone(rt):
    committer = GroupCommitter(rt)
    senders = ["a@example.be", "bad\udcff@example.be", "c@example.be"]  # no UTF-8 for a lone surrogate
    results = await store_all(committer, [message(), message(), message()], senders)
    assert isinstance(results[1], StorageError) and results[1].smtp_reply.startswith("451")
    assert all(isinstance(result, int) for result in (results[0], results[2]))
    assert InboundMessage.select().count() == 2


async def test_a_session_that_hangs_up_meanwhile_costs_the_others_nothing(rt):
    committer = GroupCommitter(rt)
    waiting = [asyncio.ensure_future(committer.store(message(), "smtp", "a@example.be", RCPT)) for _ in range(3)]
    await asyncio.sleep(0)  # all three are in the batch
    waiting[1].cancel()
    done = await asyncio.gather(*waiting, return_exceptions=True)
    assert isinstance(done[1], asyncio.CancelledError)
    assert isinstance(done[0], int) and isinstance(done[2], int)
    assert InboundMessage.select().count() == 3  # stored all the same: the client's retry is deduplicated


@pytest.mark.parametrize("turns", [0, 3])
async def test_a_lone_message_is_written_without_waiting_for_company(rt, turns):
    committer = GroupCommitter(rt, max_turns=turns)
    sizes = counted(committer)
    assert isinstance(await committer.store(message(), "smtp", "a@example.be", RCPT), int)
    assert sizes == [1]
