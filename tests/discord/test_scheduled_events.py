"""Circle sessions published as Discord scheduled events (``platforms.discord.scheduled_events``), against simcord's
scheduled-event routes, with the real discord.py and the application's manual clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from sqlalchemy import delete

from bot.adapters.discord.event_plan import Occurrence, Published, steps
from bot.adapters.discord.scheduled_events import EVENTS_FORBIDDEN, TICK, ScheduledEvents
from bot.admin.status import adapter_line, render_line
from bot.clock import ManualClock
from bot.i18n import catalogue
from bot.storage.matrix_models import PlatformState
from bot.storage.schedule_models import SessionStatus
from tests.discord.world import GUILD_ID, World, ephemeral_text, running_world

CIRCLE = "Evening circle"
RULE = "weekly tue 19:00 Europe/Berlin 90m"  # the clock starts on Monday 2026-01-05 at noon UTC
TUESDAY = datetime(2026, 1, 6, 18, 0, tzinfo=UTC)  # 19:00 in Berlin
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
async def world(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[World]:
    # The background loop runs too, but it ticks in simcord's virtual time, which these tests never advance: each
    # test runs its passes itself, so what it sees never depends on when a background pass ran.
    async with running_world(tmp_path, sqlite_template, scheduled_events=True) as running:
        yield running


def _events(world: World) -> list[Any]:
    return sorted(world.env.backend.guilds[GUILD_ID].scheduled_events.values(), key=lambda event: event.id)


def _start(event: Any) -> datetime:
    return datetime.fromisoformat(event.scheduled_start_time)


async def _pass(world: World) -> int:
    changed = await world.adapter.bridge.events.reconcile()
    await world.env.settle()
    return changed


async def _scheduled_circle(world: World, *, visibility: str | None = None) -> Any:
    moderator = world.member("mona", world.mod_role)
    options = {"visibility": visibility} if visibility else {}
    assert CIRCLE in ephemeral_text(await moderator.slash(world.general, "circle create", name=CIRCLE, **options))
    await moderator.slash(world.general, "circle join", circle=CIRCLE)
    await moderator.slash(world.general, "circle schedule-set", circle=CIRCLE, rule=RULE)
    return moderator


# -- the decisions, without Discord ------------------------------------------------------------------------------


def _occurrence(start: datetime, *, key: str = "session:1:a", open_: bool = False, name: str = CIRCLE) -> Occurrence:
    return Occurrence(1, key, name, start, start + timedelta(minutes=90), open_)


def _published(start: datetime, *, key: str = "session:1:a", active: bool = False) -> Published:
    return Published(99, key, CIRCLE, start, start + timedelta(minutes=90), active)


def test_steps_follow_an_occurrence_through_its_life() -> None:
    planned = _occurrence(TUESDAY)
    assert steps(planned, None, None, NOW) == ["create"]
    assert steps(planned, _published(TUESDAY), None, NOW) == []
    moved = _occurrence(TUESDAY + timedelta(days=1))
    assert steps(moved, _published(TUESDAY), None, NOW) == ["edit"]
    renamed = _occurrence(TUESDAY, name="Morning circle")
    assert steps(renamed, _published(TUESDAY), None, NOW) == ["edit"]
    opened = _occurrence(TUESDAY, open_=True)
    assert steps(opened, _published(TUESDAY), None, TUESDAY) == ["start"]
    assert steps(opened, _published(TUESDAY, active=True), None, TUESDAY) == []
    following = _occurrence(TUESDAY + timedelta(days=7), key="session:1:b")
    later = TUESDAY + timedelta(hours=2)
    assert steps(following, _published(TUESDAY, active=True), SessionStatus.CLOSED, later) == [
        "complete",
        "forget",
        "create",
    ]


def test_steps_cancel_what_will_not_happen_and_never_publish_the_past() -> None:
    following = _occurrence(TUESDAY + timedelta(days=7), key="session:1:b")
    # Cancelled: the planned row is gone and the next occurrence has another key.
    assert steps(following, _published(TUESDAY), None, NOW) == ["cancel", "forget", "create"]
    assert steps(None, _published(TUESDAY), SessionStatus.MISSED, NOW) == ["cancel", "forget"]
    # Closed before the event was shown as happening (a pass was missed): started, then completed.
    assert steps(None, _published(TUESDAY), SessionStatus.CLOSED, NOW) == ["start", "complete", "forget"]
    assert steps(_occurrence(NOW - timedelta(minutes=1)), None, None, NOW) == []
    assert steps(_occurrence(TUESDAY, open_=True), None, None, TUESDAY) == []
    assert steps(None, None, None, NOW) == []


# -- in a simulated server ---------------------------------------------------------------------------------------


async def test_a_planned_session_is_published_as_a_guild_only_external_event(world: World) -> None:
    await _scheduled_circle(world)
    assert await _pass(world) == 1
    [event] = _events(world)
    t = catalogue().t
    assert event.name == t("en", "discord.event.name", circle=CIRCLE)
    assert event.description == t("en", "discord.event.description", circle=CIRCLE)
    assert event.entity_type == 3  # external
    assert event.entity_metadata == {"location": t("en", "discord.event.location")}
    assert event.status == 1  # scheduled
    assert _start(event) == TUESDAY
    assert datetime.fromisoformat(event.scheduled_end_time) == TUESDAY + timedelta(minutes=90)
    created = [
        entry for entry in world.env.http_requests if entry.method == "POST" and "scheduled-events" in entry.path
    ]
    assert len(created) == 1
    assert created[0].json["privacy_level"] == 2  # guild only
    assert await _pass(world) == 0  # in step: nothing is sent again
    assert len(_events(world)) == 1


async def test_the_event_moves_opens_and_completes_with_its_session(world: World) -> None:
    moderator = await _scheduled_circle(world)
    await _pass(world)
    [event] = _events(world)

    moved = await moderator.slash(
        world.general, "session move", circle=CIRCLE, date="2026-01-06", new_date="2026-01-07", new_time="20:00"
    )
    assert CIRCLE in ephemeral_text(moved)
    assert await _pass(world) == 1
    [same] = _events(world)
    assert same.id == event.id
    assert _start(same) == datetime(2026, 1, 7, 19, 0, tzinfo=UTC)

    clock = world.app.clock
    assert isinstance(clock, ManualClock)
    clock.advance(datetime(2026, 1, 7, 19, 0, tzinfo=UTC) - clock.now())
    await world.app.scheduler.run_due()
    assert CIRCLE in ephemeral_text(await moderator.slash(world.general, "session open", circle=CIRCLE))
    await _pass(world)
    assert _events(world)[0].status == 2  # active

    assert CIRCLE in ephemeral_text(await moderator.slash(world.general, "session close", circle=CIRCLE))
    await _pass(world)
    held, following = _events(world)
    assert held.id == event.id
    assert held.status == 3  # completed
    assert following.status == 1
    assert _start(following) == TUESDAY + timedelta(days=7)


async def test_a_cancelled_session_cancels_its_event_and_the_next_is_published(world: World) -> None:
    moderator = await _scheduled_circle(world)
    await _pass(world)
    cancelled = await moderator.slash(world.general, "session cancel", circle=CIRCLE, date="2026-01-06")
    assert CIRCLE in ephemeral_text(cancelled)
    await _pass(world)
    first, following = _events(world)
    assert first.status == 4  # cancelled
    assert _start(following) == TUESDAY + timedelta(days=7)
    assert following.status == 1


async def test_a_restart_or_a_missed_change_leaves_no_stale_or_doubled_event(world: World) -> None:
    moderator = await _scheduled_circle(world)
    await _pass(world)
    # A new process remembers nothing in memory: what was published is read back from the database.
    restarted = ScheduledEvents(world.adapter.bridge.context)
    assert await restarted.reconcile() == 0
    assert len(_events(world)) == 1
    # The schedule is cleared while no pass runs; the next pass, whenever it comes, cancels the event.
    await moderator.slash(world.general, "circle schedule-clear", circle=CIRCLE)
    assert await restarted.reconcile() == 1
    await world.env.settle()
    assert [event.status for event in _events(world)] == [4]


async def test_an_event_deleted_in_discord_is_published_again(world: World) -> None:
    await _scheduled_circle(world)
    await _pass(world)
    [event] = _events(world)
    world.env.backend.delete_scheduled_event(GUILD_ID, event.id)
    assert await _pass(world) == 1
    [again] = _events(world)
    assert again.id != event.id
    assert _start(again) == TUESDAY


async def test_an_event_made_but_never_recorded_is_not_doubled(world: World) -> None:
    await _scheduled_circle(world)
    await _pass(world)
    [event] = _events(world)
    async with world.app.database.transaction() as session:  # as if the bot stopped between creating and recording
        await session.execute(delete(PlatformState).where(PlatformState.key.startswith("discord:event:")))
    await _pass(world)
    [only] = _events(world)
    assert only.id != event.id
    assert _start(only) == TUESDAY
    assert await _pass(world) == 0


async def test_unlisted_circles_are_not_published(world: World) -> None:
    await _scheduled_circle(world, visibility="unlisted")
    assert await _pass(world) == 0
    assert _events(world) == []


def _bot_role(world: World) -> Any:
    return next(role for role in world.env.backend.guilds[GUILD_ID].roles.values() if role.managed)


async def test_missing_manage_events_is_said_once_shown_in_status_and_retried(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    role = _bot_role(world)
    allowed = discord.Permissions(role.permissions)
    refused = discord.Permissions(role.permissions)
    refused.manage_events = False
    world.env.backend.edit_role(GUILD_ID, role.id, {"permissions": refused.value})
    await _scheduled_circle(world)
    bridge = world.adapter.bridge
    with caplog.at_level(logging.WARNING, logger="bot.adapters.discord.scheduled_events"):
        assert await _pass(world) == 0
        assert await _pass(world) == 0
    said = [record for record in caplog.records if "Manage Events" in record.getMessage()]
    assert len(said) == 1
    assert said[0].levelno == logging.ERROR
    assert _events(world) == []
    assert bridge.status_notes() == (EVENTS_FORBIDDEN,)
    shown = render_line(catalogue(), "ar", adapter_line("discord", True, notes=bridge.status_notes()))
    assert catalogue().t("ar", "admin.status.events_forbidden") in shown

    world.env.backend.edit_role(GUILD_ID, role.id, {"permissions": allowed.value})
    assert await _pass(world) == 1
    assert len(_events(world)) == 1
    assert bridge.status_notes() == ()


async def test_rate_limits_and_server_errors_are_retried_on_the_next_pass(world: World) -> None:
    await _scheduled_circle(world)
    world.env.inject_error("POST", "/guilds/*/scheduled-events", status=502)
    assert await _pass(world) == 0
    assert _events(world) == []
    assert world.adapter.bridge.status_notes() == ()  # not a permission problem
    assert await _pass(world) == 1
    assert len(_events(world)) == 1


async def test_off_by_default(tmp_path: Path, sqlite_template: Path) -> None:
    async with running_world(tmp_path, sqlite_template) as world:
        await _scheduled_circle(world)
        assert await world.adapter.bridge.events.reconcile() == 0
        assert not [entry for entry in world.env.http_requests if "scheduled-events" in entry.path]


async def test_a_command_that_plans_a_session_publishes_it_without_waiting_for_the_interval(
    tmp_path: Path, sqlite_template: Path
) -> None:
    async with running_world(tmp_path, sqlite_template, scheduled_events=True) as world:
        await world.env.settle()
        assert _events(world) == []
        await _scheduled_circle(world)
        await world.env.advance_time(TICK)  # well before the interval
        [event] = _events(world)
        assert _start(event) == TUESDAY


async def test_the_event_speaks_the_community_language(world: World) -> None:
    settings = world.app.settings
    arabic = settings.communities[0].model_copy(update={"locale": "ar"})
    world.app.settings = settings.model_copy(update={"communities": [arabic]})
    await _scheduled_circle(world)
    await _pass(world)
    [event] = _events(world)
    t = catalogue().t
    assert event.name == t("ar", "discord.event.name", circle=CIRCLE)
    assert event.description == t("ar", "discord.event.description", circle=CIRCLE)
    assert event.entity_metadata == {"location": t("ar", "discord.event.location")}
    assert event.name != t("en", "discord.event.name", circle=CIRCLE)
