"""The outbox under faults: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Literal

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.communities import CommunitySpec, console_ref, sync_communities
from bot.delivery.deliverer import LEASE, Deliverer
from bot.delivery.outbox import Delivery, enqueue
from bot.errors import DeliveryRefused, PlatformError
from bot.model import Platform
from bot.storage import Database
from bot.storage.models import Community, Escalation, OutboxItem, OutboxStatus


class FlakySender:
    """A platform that fails the first ``failures`` calls in the way given, then works; records what it showed."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or PlatformError("503 Service Unavailable")
        self.calls: list[str] = []
        self.shown: list[Delivery] = []
        self.seen_keys: set[str] = set()

    async def send(self, delivery: Delivery) -> None:
        self.calls.append(delivery.key)
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        if delivery.key in self.seen_keys:  # idempotent like Matrix transaction ids
            return
        self.seen_keys.add(delivery.key)
        self.shown.append(delivery)


async def _community(database: Database, clock: ManualClock) -> int:
    await sync_communities(
        database, [CommunitySpec("c", console_ref("c"), "C", "en", "UTC", None, moderator_room="#mods")], clock
    )
    async with database.transaction() as session:
        return int(await session.scalar(select(Community.id)) or 0)


async def _alert(database: Database, clock: ManualClock, key: str = "alert:1:new", fallback: str | None = None) -> None:
    community_id = await _community(database, clock)
    async with database.transaction() as session:
        await enqueue(
            session,
            key=key,
            community_id=community_id,
            platform=Platform.CONSOLE,
            kind="room",
            target="#mods",
            text="alert text",
            now=clock.now(),
            fallback=fallback,
        )


async def _items(database: Database) -> list[OutboxItem]:
    async with database.transaction() as session:
        return list((await session.execute(select(OutboxItem).order_by(OutboxItem.id))).scalars())


async def test_delivered_once_and_text_cleared(database: Database, clock: ManualClock) -> None:
    await _alert(database, clock)
    sender = FlakySender()
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    assert await deliverer.drain() == 1
    assert await deliverer.drain() == 0
    assert [d.text for d in sender.shown] == ["alert text"]
    (item,) = await _items(database)
    assert item.status == OutboxStatus.DELIVERED
    assert item.text == ""


async def test_the_same_key_is_enqueued_once(database: Database, clock: ManualClock) -> None:
    await _alert(database, clock)
    async with database.transaction() as session:
        added = await enqueue(
            session,
            key="alert:1:new",
            community_id=(await _items(database))[0].community_id,
            platform=Platform.CONSOLE,
            kind="room",
            target="#mods",
            text="again",
            now=clock.now(),
        )
    assert not added
    assert len(await _items(database)) == 1


async def test_5xx_bursts_are_retried_with_backoff_until_delivered(database: Database, clock: ManualClock) -> None:
    await _alert(database, clock)
    sender = FlakySender(failures=3)
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    assert await deliverer.drain() == 0
    (item,) = await _items(database)
    assert item.status == OutboxStatus.PENDING
    assert item.due_at == clock.now() + timedelta(seconds=2)
    assert item.last_error == "503 Service Unavailable"
    # Not due yet: nothing is tried.
    await deliverer.drain()
    assert len(sender.calls) == 1
    for wait in (2, 4, 8):
        clock.advance(timedelta(seconds=wait))
        await deliverer.drain()
    assert len(sender.shown) == 1
    assert len(sender.calls) == 4


async def test_429_retry_after_is_honoured(database: Database, clock: ManualClock) -> None:
    await _alert(database, clock)
    sender = FlakySender(failures=1, error=PlatformError("429 Too Many Requests", retry_after=30))
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    await deliverer.drain()
    clock.advance(timedelta(seconds=29))
    await deliverer.drain()
    assert sender.shown == []
    clock.advance(timedelta(seconds=1))
    await deliverer.drain()
    assert len(sender.shown) == 1


async def test_unreachable_destination_goes_to_the_fallback_and_keeps_trying(
    database: Database, clock: ManualClock
) -> None:
    await _alert(database, clock, fallback="#backup")
    sender = FlakySender(failures=10**6, error=PlatformError("timeout"))
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    for _ in range(3):
        await deliverer.drain()
        clock.advance(timedelta(minutes=5))
    items = await _items(database)
    assert [i.target for i in items] == ["#mods", "#backup"]
    assert items[0].status == OutboxStatus.PENDING
    sender.failures = 0
    await deliverer.drain()
    assert sorted(d.target for d in sender.shown) == ["#backup", "#mods"]


async def test_refused_alert_without_fallback_is_never_dropped(database: Database, clock: ManualClock) -> None:
    community_id = await _community(database, clock)
    async with database.transaction() as session:
        await enqueue(
            session,
            key="alert:9:new",
            community_id=community_id,
            platform=Platform.CONSOLE,
            kind="room",
            target="#gone",
            text="alert",
            now=clock.now(),
            escalation_id=None,
        )
        item = (await session.execute(select(OutboxItem))).scalar_one()
        item.escalation_id = None
    sender = FlakySender(failures=1, error=DeliveryRefused("404 Unknown Channel"))
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    await deliverer.drain()
    (item,) = await _items(database)
    assert item.status == OutboxStatus.FAILED  # not an alert: a refused plain post is given up, with the reason
    assert item.last_error == "404 Unknown Channel"


async def test_a_crash_after_sending_resends_under_the_same_key_once_the_lease_ends(
    database: Database, clock: ManualClock
) -> None:
    await _alert(database, clock)
    sender = FlakySender()

    class ProcessDied(BaseException):
        """The process ends here (tests/faults kills real processes; this is the in-process stand-in)."""

    class CrashAfterSend(Deliverer):
        async def _deliver(self, item: OutboxItem) -> int:
            await sender.send(Delivery(item.key, Platform.CONSOLE, "room", item.target, item.text))
            raise ProcessDied  # the process dies before recording the delivery

    with pytest.raises(ProcessDied):
        await CrashAfterSend(database, clock, {Platform.CONSOLE: sender}).drain()
    restarted = Deliverer(database, clock, {Platform.CONSOLE: sender})
    assert await restarted.drain() == 0  # still leased by the dead process
    clock.advance(LEASE)
    assert await restarted.drain() == 1
    assert len(sender.calls) == 2
    assert len(sender.shown) == 1  # the platform saw the same key twice and showed it once


async def test_an_adapter_bug_does_not_lose_the_item(database: Database, clock: ManualClock) -> None:
    await _alert(database, clock)
    sender = FlakySender(failures=1, error=RuntimeError("adapter bug"))
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    await deliverer.drain()
    clock.advance(timedelta(seconds=2))
    await deliverer.drain()
    assert len(sender.shown) == 1


async def test_two_deliverers_on_one_database_deliver_each_item_once(database: Database, clock: ManualClock) -> None:
    community_id = await _community(database, clock)
    async with database.transaction() as session:
        for number in range(40):
            await enqueue(
                session,
                key=f"k{number}",
                community_id=community_id,
                platform=Platform.CONSOLE,
                kind="room",
                target="#mods",
                text=str(number),
                now=clock.now(),
            )
    calls: list[str] = []

    class Counting:
        async def send(self, delivery: Delivery) -> None:
            calls.append(delivery.key)
            await asyncio.sleep(0)

    first = Deliverer(database, clock, {Platform.CONSOLE: Counting()})
    second = Deliverer(database, clock, {Platform.CONSOLE: Counting()})
    await asyncio.gather(first.drain(), second.drain())
    assert sorted(calls) == sorted(f"k{n}" for n in range(40))


class SlowDestination:
    """A platform where one destination hangs until released; records the order things were shown in."""

    def __init__(self, slow_target: str) -> None:
        self.slow_target = slow_target
        self.release = asyncio.Event()
        self.shown: list[tuple[str, str]] = []

    async def send(self, delivery: Delivery) -> None:
        if delivery.target == self.slow_target:
            await self.release.wait()
        self.shown.append((delivery.target, delivery.text))


async def _enqueue(
    database: Database,
    clock: ManualClock,
    community_id: int,
    key: str,
    kind: Literal["dm", "room"],
    target: str,
    text: str,
    *,
    escalation: bool = False,
) -> None:
    """One outbox item; with ``escalation``, a moderator alert as the safety flow writes it (tied to its escalation)."""
    async with database.transaction() as session:
        escalation_id = None
        if escalation:
            now = clock.now()
            row = Escalation(
                community_id=community_id,
                member_id=None,
                source="message",
                tier="urgent",
                last_alert_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            await session.flush()
            escalation_id = row.id
        await enqueue(
            session,
            key=key,
            community_id=community_id,
            platform=Platform.CONSOLE,
            kind=kind,
            target=target,
            text=text,
            now=clock.now(),
            escalation_id=escalation_id,
        )


async def test_a_slow_destination_does_not_hold_up_an_alert_and_order_per_destination_is_kept(
    database: Database, clock: ManualClock
) -> None:
    community_id = await _community(database, clock)
    # A direct chat that is slow to open (Matrix creates a room) queued before the alert.
    for number in range(3):
        await _enqueue(database, clock, community_id, f"dm{number}", "dm", "slow-person", f"reminder {number}")
    await _enqueue(database, clock, community_id, "note", "room", "#general", "a notice")
    await _enqueue(database, clock, community_id, "alert", "room", "#mods", "alert text", escalation=True)
    sender = SlowDestination("slow-person")
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    draining = asyncio.ensure_future(deliverer.drain())
    for _ in range(500):  # at most 5 s for the other destinations' sends while the slow one hangs
        if len(sender.shown) == 2:
            break
        await asyncio.sleep(0.01)
    assert sender.shown == [("#mods", "alert text"), ("#general", "a notice")]
    sender.release.set()
    assert await draining == 5
    assert [text for target, text in sender.shown if target == "slow-person"] == [
        "reminder 0",
        "reminder 1",
        "reminder 2",
    ]


async def test_alerts_are_leased_before_older_ordinary_items(database: Database, clock: ManualClock) -> None:
    community_id = await _community(database, clock)
    for number in range(60):  # more than one batch of ordinary items, all older than the alert
        await _enqueue(database, clock, community_id, f"n{number}", "room", f"#room{number}", "notice")
    clock.advance(timedelta(seconds=1))
    await _enqueue(database, clock, community_id, "alert", "room", "#mods", "alert text", escalation=True)
    sender = FlakySender()
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    assert await deliverer.drain() == 61
    assert sender.shown[0].text == "alert text"


async def _until(condition: object, what: str) -> None:
    """Wait (at most 5 s) for ``condition()`` while the deliverer runs on its own."""
    for _ in range(500):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_an_alert_written_while_a_slow_delivery_runs_is_sent_at_once(
    database: Database, clock: ManualClock
) -> None:
    community_id = await _community(database, clock)
    await _enqueue(database, clock, community_id, "dm0", "dm", "slow-person", "reminder 0")
    sender = SlowDestination("slow-person")
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    stop = asyncio.Event()
    # A poll an hour long: only being told (wake) can deliver the alert in time.
    running = asyncio.ensure_future(deliverer.run(stop, poll=3600))
    await _until(lambda: deliverer._wake.is_set() is False and sender.shown == [], "the slow delivery to start")
    await asyncio.sleep(0.05)  # the slow direct chat is now being opened
    # The crisis alert is written while that delivery hangs: it must not wait for the batch the slow one is in.
    await _enqueue(database, clock, community_id, "alert", "room", "#mods", "alert text", escalation=True)
    await _enqueue(database, clock, community_id, "dm1", "dm", "slow-person", "reminder 1")
    deliverer.wake()
    await _until(lambda: sender.shown == [("#mods", "alert text")], "the alert")
    sender.release.set()
    await _until(lambda: len(sender.shown) == 3, "the slow destination")
    assert sender.shown[1:] == [("slow-person", "reminder 0"), ("slow-person", "reminder 1")]  # still in order
    stop.set()
    await running
    assert all(item.status == OutboxStatus.DELIVERED for item in await _items(database))


async def test_more_items_than_one_lease_are_all_delivered_without_waiting_for_the_poll(
    database: Database, clock: ManualClock
) -> None:
    community_id = await _community(database, clock)
    for number in range(120):  # more than two leases' worth, spread over a few destinations
        await _enqueue(database, clock, community_id, f"n{number}", "room", f"#room{number % 7}", f"notice {number}")
    sender = FlakySender()
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    stop = asyncio.Event()
    running = asyncio.ensure_future(deliverer.run(stop, poll=3600))
    deliverer.wake()
    await _until(lambda: len(sender.shown) == 120, "every item")
    stop.set()
    await running
    for room in range(7):  # each destination in the order written
        texts = [d.text for d in sender.shown if d.target == f"#room{room}"]
        assert texts == [f"notice {n}" for n in range(120) if n % 7 == room]
    assert len(sender.calls) == 120  # and each once


async def test_a_database_failure_while_marking_keeps_the_item_for_after_its_lease(
    database: Database, clock: ManualClock
) -> None:
    await _alert(database, clock)
    sender = FlakySender()
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    real = database.transaction
    failing = True

    def transaction() -> object:
        if failing and sender.shown:  # after the platform call: marking it delivered fails
            raise ConnectionRefusedError("database unavailable")
        return real()

    database.transaction = transaction  # type: ignore[method-assign]
    with pytest.raises(ConnectionRefusedError):
        await deliverer.drain()
    failing = False
    database.transaction = real  # type: ignore[method-assign]
    assert await deliverer.drain() == 0  # still leased: nobody sends it twice meanwhile
    clock.advance(LEASE + timedelta(seconds=1))
    assert await deliverer.drain() == 1  # sent again under the same key, shown once
    assert len(sender.shown) == 1
    assert sender.calls == ["alert:1:new", "alert:1:new"]


class SlowSends:
    """A platform where each send to ``slow_target`` takes ``seconds`` of the deliverer's clock (and wakes it, so it
    leases again meanwhile, as it would on a busy bot); records every call."""

    def __init__(self, clock: ManualClock, slow_target: str, seconds: float) -> None:
        self.clock = clock
        self.slow_target = slow_target
        self.seconds = seconds
        self.deliverer: Deliverer | None = None
        self.calls: list[str] = []

    async def send(self, delivery: Delivery) -> None:
        self.calls.append(delivery.key)
        if delivery.target == self.slow_target:
            self.clock.advance(timedelta(seconds=self.seconds))
            assert self.deliverer is not None
            self.deliverer.wake()
            for _ in range(5):  # let the deliverer's loop take its turn while this send is "on the wire"
                await asyncio.sleep(0)


async def test_items_waiting_past_their_lease_are_sent_once(database: Database, clock: ManualClock) -> None:
    community_id = await _community(database, clock)
    for number in range(4):  # each send takes 40 s: the last ones wait longer than their 60 s lease
        await _enqueue(database, clock, community_id, f"dm{number}", "dm", "slow-person", f"reminder {number}")
    sender = SlowSends(clock, "slow-person", 40)
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    sender.deliverer = deliverer
    stop = asyncio.Event()
    running = asyncio.ensure_future(deliverer.run(stop, poll=3600))
    deliverer.wake()
    await _until(lambda: len(sender.calls) >= 4, "every reminder")
    await asyncio.sleep(0.1)  # any second copy would be sent now
    stop.set()
    await running
    assert sender.calls == ["dm0", "dm1", "dm2", "dm3"]  # in order, each once
    assert all(item.status == OutboxStatus.DELIVERED for item in await _items(database))


async def test_an_item_another_process_took_after_its_lease_ended_is_not_sent_here(
    database: Database, clock: ManualClock
) -> None:
    community_id = await _community(database, clock)
    for number in range(2):
        await _enqueue(database, clock, community_id, f"dm{number}", "dm", "slow-person", f"reminder {number}")
    first = SlowSends(clock, "slow-person", 45)  # a slow send, within its own lease
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: first})
    first.deliverer = deliverer
    other = FlakySender()
    other_process = Deliverer(database, clock, {Platform.CONSOLE: other})
    check = deliverer._still_ours

    async def other_process_first(item: OutboxItem) -> bool:
        if item.key == "dm1":  # dm1 waited behind dm0 until its lease ended; another process took and sent it
            clock.advance(timedelta(seconds=30))
            assert await other_process.drain() == 1
        return await check(item)

    deliverer._still_ours = other_process_first  # type: ignore[method-assign]
    assert await deliverer.drain() == 1
    assert first.calls == ["dm0"]  # dm1 was not sent a second time here
    assert [d.key for d in other.shown] == ["dm1"]


async def test_an_alert_is_not_held_up_by_a_notice_waiting_for_the_same_room(
    database: Database, clock: ManualClock
) -> None:
    community_id = await _community(database, clock)
    # Every ordinary place is taken by direct chats that hang; then the moderators' room gets an ordinary notice (a
    # session nobody can lead) and, after it, a crisis alert.
    for number in range(8):
        await _enqueue(database, clock, community_id, f"dm{number}", "dm", f"person{number}", "hello")
    await _enqueue(database, clock, community_id, "unstaffed", "room", "#mods", "nobody can lead")
    await _enqueue(database, clock, community_id, "alert", "room", "#mods", "alert text", escalation=True)
    sender = SlowDestination("")
    hanging = asyncio.Event()

    async def send(delivery: Delivery) -> None:
        if delivery.kind == "dm":
            await hanging.wait()
        sender.shown.append((delivery.target, delivery.text))

    sender.send = send  # type: ignore[method-assign]
    deliverer = Deliverer(database, clock, {Platform.CONSOLE: sender})
    draining = asyncio.ensure_future(deliverer.drain())
    await _until(lambda: ("#mods", "alert text") in sender.shown, "the alert")
    assert sender.shown == [("#mods", "alert text")]  # the notice still waits for a place; the alert did not
    hanging.set()
    assert await draining == 10


async def test_a_crisis_is_leased_even_when_the_outbox_is_full(database: Database, clock: ManualClock) -> None:
    community_id = await _community(database, clock)
    for number in range(60):  # more than can be leased at once, all hanging
        await _enqueue(database, clock, community_id, f"dm{number}", "dm", f"person{number}", "hello")
    hanging = asyncio.Event()
    shown: list[str] = []

    class Hanging:
        async def send(self, delivery: Delivery) -> None:
            if delivery.kind == "dm" and delivery.escalation_id is None:
                await hanging.wait()
            shown.append(delivery.key)

    deliverer = Deliverer(database, clock, {Platform.CONSOLE: Hanging()})
    stop = asyncio.Event()
    running = asyncio.ensure_future(deliverer.run(stop, poll=3600))
    deliverer.wake()
    await asyncio.sleep(0.1)  # the first 50 are leased and hang
    await _enqueue(database, clock, community_id, "alert", "room", "#mods", "alert text", escalation=True)
    deliverer.wake()
    await _until(lambda: shown == ["alert"], "the alert")
    hanging.set()
    await _until(lambda: len(shown) == 61, "everything")
    stop.set()
    await running
