"""Lanes: command answers carried out beside the sync loop, in order per person, at once across people."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.adapters.matrix.lanes import Lanes


async def test_one_persons_work_runs_in_order_and_others_do_not_wait() -> None:
    lanes = Lanes()
    done: list[str] = []
    slow = asyncio.Event()

    async def step(name: str, wait: asyncio.Event | None = None) -> None:
        if wait is not None:
            await wait.wait()
        done.append(name)

    lanes.add("alice", step("alice 1", slow), "alice 1")
    lanes.add("alice", step("alice 2"), "alice 2")
    lanes.add("bob", step("bob 1"), "bob 1")
    for _ in range(10):
        await asyncio.sleep(0)
    assert done == ["bob 1"]  # alice's slow first answer holds up only her own second one
    slow.set()
    assert await lanes.drain(within=5) == 0
    assert done == ["bob 1", "alice 1", "alice 2"]
    assert len(lanes) == 0


async def test_a_failure_is_logged_and_the_lane_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    lanes = Lanes()
    done: list[str] = []

    async def broken() -> None:
        raise RuntimeError("the homeserver said no")

    async def fine() -> None:
        done.append("next")

    lanes.add("alice", broken(), "the answer to $1")
    lanes.add("alice", fine(), "the answer to $2")
    with caplog.at_level(logging.ERROR):
        assert await lanes.drain(within=5) == 0
    assert done == ["next"]
    assert "could not carry out the answer to $1" in caplog.text


async def test_drain_gives_up_after_its_time_and_says_how_much_was_left() -> None:
    lanes = Lanes()
    never = asyncio.Event()

    async def stuck() -> None:
        await never.wait()

    lanes.add("alice", stuck(), "stuck")
    assert await lanes.drain(within=0.05) == 1
