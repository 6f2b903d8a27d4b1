"""Group commit at the SMTP door: the writer thread stores what is queued with one commit per batch, batches are
capped, and one bad message or one session that hangs up costs nobody else their answer."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable, Iterator

import pytest

from mailflow.errors import StorageError
from mailflow.inbound.committer import LARGE_BYTES, GroupCommitter
from mailflow.inbound.smtp_server import InboundSmtpServer
from mailflow.models import InboundMessage
from tests.support.inbound import REPLY_DOMAIN, message

RCPT = [f"reply@{REPLY_DOMAIN}"]


@pytest.fixture
def committers(rt) -> Iterator[Callable[..., GroupCommitter]]:
    """Make committers (not started: a test queues first when it wants one batch); all stopped at the end."""
    made: list[GroupCommitter] = []

    def make(**limits: int) -> GroupCommitter:
        made.append(GroupCommitter(rt, **limits))
        return made[-1]
    yield make
    for committer in made:
        committer.stop()


def counted(committer: GroupCommitter) -> list[int]:
    """The size of each batch `committer` writes, in order."""
    sizes: list[int] = []
    write = committer.commit
    committer.commit = lambda items: (sizes.append(len(items)), write(items))[1]  # type: ignore[method-assign]
    return sizes


def queue(committer: GroupCommitter, raws: list[bytes], senders: list[str] | None = None) -> list[asyncio.Future]:
    senders = senders or ["someone@example.be"] * len(raws)
    return [committer.submit(io.BytesIO(raw), len(raw), "smtp", sender, RCPT) for raw, sender in zip(raws, senders)]


async def settled(futures: list[asyncio.Future]) -> list:
    return await asyncio.gather(*futures, return_exceptions=True)


async def test_messages_queued_together_share_one_commit(committers):
    committer = committers()
    sizes = counted(committer)
    raws = [message(message_id=f"<m{n}@client.example>") for n in range(10)]
    waiting = queue(committer, [*raws, raws[3]])  # the same message twice: one row
    committer.start()
    ids = await settled(waiting)
    assert sizes == [11]
    assert len(set(ids)) == 10 and ids[10] == ids[3]
    assert sorted(bytes(row.raw) for row in InboundMessage.select()) == sorted(raws)


async def test_a_batch_is_capped_by_count_and_the_rest_follow(committers):
    committer = committers(max_batch=4)
    sizes = counted(committer)
    waiting = queue(committer, [message() for _ in range(10)])
    committer.start()
    assert len(set(await settled(waiting))) == 10
    assert sizes == [4, 4, 2]


async def test_a_batch_is_capped_by_bytes_and_a_message_over_the_cap_goes_alone(committers):
    small, big = message(body="x" * 1000), message(body="y" * 5000)
    committer = committers(max_bytes=2 * len(small) + 10)
    sizes = counted(committer)
    waiting = queue(committer, [message(body="x" * 1000), message(body="z" * 1000), small, big])
    committer.start()
    assert all(isinstance(result, int) for result in await settled(waiting))
    assert sizes == [2, 1, 1]


async def test_a_short_message_is_not_kept_behind_large_ones(committers):
    committer = committers(max_bytes=60_000)
    written: list[list[bytes]] = []
    write = committer.commit
    committer.commit = lambda items: (written.append([raw for raw, *_ in items]), write(items))[1]  # type: ignore
    large = [message(body="y" * 40_000) for _ in range(3)]
    short = message(body="Une question.")
    waiting = queue(committer, [*large, short])
    committer.start()
    assert all(isinstance(result, int) for result in await settled(waiting))
    assert written[0][0] == short and [len(batch) for batch in written] == [2, 1, 1]


async def test_one_message_the_database_refuses_fails_alone(committers):
    committer = committers()
    senders = ["a@example.be", "bad\udcff@example.be", "c@example.be"]  # no UTF-8 for a lone surrogate
    waiting = queue(committer, [message(), message(), message()], senders)
    committer.start()
    results = await settled(waiting)
    assert isinstance(results[1], StorageError) and results[1].smtp_reply.startswith("451")
    assert all(isinstance(result, int) for result in (results[0], results[2]))
    assert InboundMessage.select().count() == 2


async def test_a_session_that_hangs_up_meanwhile_costs_the_others_nothing(committers):
    committer = committers()
    sessions = [asyncio.ensure_future(committer.store(message(), "smtp", "a@example.be", RCPT)) for _ in range(3)]
    await asyncio.sleep(0)  # all three are queued
    sessions[1].cancel()
    committer.start()
    done = await asyncio.gather(*sessions, return_exceptions=True)
    assert isinstance(done[1], asyncio.CancelledError)
    assert isinstance(done[0], int) and isinstance(done[2], int)
    assert InboundMessage.select().count() == 3  # stored all the same: the client's retry is deduplicated


async def test_a_lone_message_is_written_at_once_on_the_writer_thread(committers):
    committer = committers()
    sizes, threads = counted(committer), []
    write = committer.commit
    committer.commit = lambda items: (threads.append(threading.current_thread()), write(items))[1]  # type: ignore
    committer.start()
    assert isinstance(await asyncio.wait_for(committer.store(message(), "smtp", "a@example.be", RCPT), 10), int)
    assert sizes == [1] and threads == [committer._thread]
    assert threads[0] is not threading.current_thread()  # the event loop's thread never waits for the database


async def test_stopping_commits_what_is_queued_then_refuses_more(committers):
    committer = committers()
    waiting = queue(committer, [message() for _ in range(3)])
    committer.start()
    await asyncio.get_running_loop().run_in_executor(None, committer.stop)
    assert all(isinstance(result, int) for result in await settled(waiting))
    late = await settled(queue(committer, [message()]))
    assert isinstance(late[0], StorageError) and late[0].smtp_reply.startswith("451")
    assert InboundMessage.select().count() == 3


def test_a_large_message_is_read_only_while_no_large_batch_is_being_written(rt):
    """The worker's copies of a large message and the writer's of a large batch never add up in memory."""
    server = InboundSmtpServer(rt, host="127.0.0.1", port=0)  # not started: only its turn-taking is used
    small, large = threading.Event(), threading.Event()

    def take_turn(size: int, entered: threading.Event) -> None:
        with server.processing_turn(size):
            entered.set()

    with server.committer.large:  # the writer is storing a large batch
        threading.Thread(target=take_turn, args=(10_000, small)).start()
        threading.Thread(target=take_turn, args=(LARGE_BYTES, large)).start()
        assert small.wait(5)
        assert not large.wait(0.3)
    assert large.wait(5)
