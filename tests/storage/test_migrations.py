"""Migrations: from nothing to head, idempotent, reversible, and in step with the models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import TableClause, column, delete, func, insert, inspect, select, table, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.schema import CreateTable

from bot.clock import ManualClock
from bot.storage import Database
from bot.storage.migrate import current_revision, downgrade, head_revision, upgrade
from bot.storage.models import AuditEntry, Base, Circle, Community, Member, OutboxItem
from bot.storage.schedule_models import Attendance, CircleSession, SwapRequest, Timer
from tests.storage.factories import add_circle, add_community, add_member

TABLES = {table.name for table in Base.metadata.sorted_tables}


async def table_names(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def schema_differences(database: Database) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with database.engine.connect() as connection:
        return await connection.run_sync(compare)


def test_there_is_a_head_revision() -> None:
    assert head_revision() is not None


async def test_an_empty_database_has_no_revision(empty_database: Database) -> None:
    assert await current_revision(empty_database) is None
    assert await table_names(empty_database) == set()


async def test_upgrade_from_empty_reaches_head(empty_database: Database) -> None:
    before, after = await upgrade(empty_database)

    assert before is None
    assert after == head_revision()
    assert await current_revision(empty_database) == head_revision()
    assert await table_names(empty_database) == TABLES | {"alembic_version"}


async def test_a_second_upgrade_changes_nothing(empty_database: Database) -> None:
    await upgrade(empty_database)
    tables = await table_names(empty_database)

    before, after = await upgrade(empty_database)

    assert before == after == head_revision()
    assert await table_names(empty_database) == tables


async def test_models_match_migrations(database: Database) -> None:
    """A model changed without a migration shows up here, on both backends."""
    assert await schema_differences(database) == []


async def test_downgrade_to_base_then_upgrade_again(empty_database: Database, clock: ManualClock) -> None:
    await upgrade(empty_database)

    await downgrade(empty_database, "base")

    assert await current_revision(empty_database) is None
    assert await table_names(empty_database) <= {"alembic_version"}

    before, after = await upgrade(empty_database)

    assert (before, after) == (None, head_revision())
    assert await schema_differences(empty_database) == []
    async with empty_database.transaction() as session:
        session.add(Member(platform="console", native_id="after-rebuild", created_at=clock.now()))
    async with empty_database.transaction() as session:
        assert await session.scalar(select(Member.native_id)) == "after-rebuild"


# --- 0007: how a session's facilitator was set ---------------------------------------------------------------------

NEW_SESSION_COLUMNS = {"facilitator_source", "facilitator_set_by"}
COLUMNS_0008 = {"facilitator_notified_id"}
# The sessions table as 0006 left it: the model's columns without the two 0007 adds (nor 0008's).
SESSIONS_0006 = table(
    "sessions",
    *(column(c.name, c.type) for c in CircleSession.__table__.c if c.name not in NEW_SESSION_COLUMNS | COLUMNS_0008),
)
# As 0007 left it: without 0008's column.
SESSIONS_0007 = table(
    "sessions", *(column(c.name, c.type) for c in CircleSession.__table__.c if c.name not in COLUMNS_0008)
)


async def session_columns(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return {
            found["name"] for found in await connection.run_sync(lambda sync: inspect(sync).get_columns("sessions"))
        }


async def cascading_rows(database: Database) -> dict[str, int]:
    async with database.transaction() as session:
        return {
            model.__tablename__: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Attendance, SwapRequest, Timer)
        }


async def add_evening_circle(
    session: AsyncSession, clock: ManualClock, names: tuple[str, ...]
) -> tuple[Community, Circle, list[Member]]:
    """A community with "Evening circle" in it, and a member for each of ``names``."""
    community = await add_community(session, clock)
    circle = await add_circle(session, clock, community, "Evening circle")
    return community, circle, [await add_member(session, clock, name) for name in names]


def session_fields(circle_id: int, start: datetime, now: datetime) -> dict[str, Any]:
    """The columns every migration gives a session, for one of an hour from ``start`` planned at ``now``."""
    return {
        "circle_id": circle_id,
        "key": f"session:{circle_id}:{start.isoformat()}",
        "original_start": start,
        "start_at": start,
        "end_at": start + timedelta(hours=1),
        "created_at": now,
    }


def add_children(
    session: AsyncSession, circle_id: int, number: int, member: Member, *, due: datetime, now: datetime
) -> None:
    """Rows that cascade from session ``number``: ``member``'s confirmed attendance, and its start timer due at
    ``due``. A rebuild that dropped the old table with foreign keys on would delete them."""
    session.add(Attendance(session_id=number, member_id=member.id, confirmed=True))
    session.add(
        Timer(key=f"start:{number}", kind="start", circle_id=circle_id, session_id=number, due_at=due, created_at=now)
    )


async def check_upgrade_from(database: Database, revision: str, children: dict[str, int]) -> None:
    """Upgrade from ``revision`` to head: every row that cascades from the sessions (``children``) is still there."""
    before, after = await upgrade(database)

    assert (before, after) == (revision, head_revision())
    assert await cascading_rows(database) == children


async def check_downgrade_to(
    database: Database,
    revision: str,
    children: dict[str, int],
    *,
    added: set[str] | None = None,
    sessions: tuple[TableClause, int] | None = None,
) -> None:
    """Downgrade to ``revision`` and upgrade to head again. Down, ``revision`` is recorded, the session columns it did
    not have (``added``) are gone, the sessions are all still there (``sessions``: the table as ``revision`` has it,
    and how many rows it should hold), and so is every row that cascades from them (``children``). Back up, the
    schema is in step with the models and has ``added`` again."""
    await downgrade(database, revision)

    assert await current_revision(database) == revision
    if added is not None:
        assert added.isdisjoint(await session_columns(database))
    if sessions is not None:
        old_table, count = sessions
        async with database.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(old_table)) == count
    assert await cascading_rows(database) == children
    await upgrade(database)
    assert await schema_differences(database) == []
    if added is not None:
        assert await session_columns(database) >= added


async def test_0007_records_how_each_facilitator_was_set_and_downgrades_cleanly(
    empty_database: Database, clock: ManualClock
) -> None:
    """Sessions planned before 0007 get their source from what the database already says: an accepted swap whose
    taker still leads, or a ``rotation set`` in the audit log whose person still leads (the latest one wins)."""
    await upgrade(empty_database, "0006")
    assert NEW_SESSION_COLUMNS.isdisjoint(await session_columns(empty_database))
    now = clock.now()
    async with empty_database.transaction() as session:
        community, circle, (mod, amal, ben, chen) = await add_evening_circle(
            session, clock, ("mod", "amal", "ben", "chen")
        )
        leads = {1: amal, 2: ben, 3: chen, 4: ben, 5: amal, 6: chen}
        for number, lead in leads.items():
            fields = session_fields(circle.id, now + timedelta(days=7 * number), now)
            await session.execute(
                insert(SESSIONS_0006).values(id=number, status="scheduled", facilitator_id=lead.id, **fields)
            )
        # 2: ben took it from amal in a swap. 4: chen, whom the moderator named, swapped it to ben. 6: an older swap
        # to ben, then the moderator named chen.
        for number, asker, taker in ((2, amal, ben), (4, chen, ben), (6, amal, ben)):
            session.add(SwapRequest(session_id=number, from_member=asker.id, to_member=taker.id, status="accepted",
                                    created_at=now))  # fmt: skip
        session.add(SwapRequest(session_id=1, from_member=ben.id, to_member=amal.id, status="expired", created_at=now))
        # 3, 4 and 6: the moderator named chen; 5: named chen, but amal leads it now (she opened it in chen's place).
        for number, minutes in ((3, 0), (4, 0), (5, 0), (6, 2)):
            session.add(AuditEntry(community_id=community.id, actor_id=mod.id, action="rotation.set",
                                   target=f"session:{number}", details={"to": chen.id},
                                   created_at=now + timedelta(minutes=minutes)))  # fmt: skip
        session.add(AuditEntry(community_id=community.id, actor_id=None, action="rotation.set",
                               target="session:6", details={"to": ben.id}, created_at=now))  # fmt: skip
        # Rows that cascade from sessions: a batch that dropped the old table with foreign keys on would delete them.
        for number in leads:
            add_children(session, circle.id, number, amal, due=now, now=now)
    children = await cascading_rows(empty_database)
    assert children == {"attendance": 6, "swap_requests": 4, "timers": 6}

    await check_upgrade_from(empty_database, "0006", children)
    async with empty_database.transaction() as session:
        rows = (
            await session.execute(
                select(CircleSession.id, CircleSession.facilitator_source, CircleSession.facilitator_set_by)
            )
        ).all()
    assert sorted(rows) == [
        (1, "rotation", None),
        (2, "swap", None),
        (3, "moderator", mod.id),
        (4, "swap", None),
        (5, "rotation", None),
        (6, "moderator", mod.id),
    ]

    await check_downgrade_to(
        empty_database, "0006", children, added=NEW_SESSION_COLUMNS, sessions=(SESSIONS_0006, len(leads))
    )


# --- 0008: who was last told a session is theirs to lead -----------------------------------------------------------


async def test_0008_records_who_was_told_and_downgrades_cleanly(empty_database: Database, clock: ManualClock) -> None:
    """Sessions not yet started were told to their facilitator when a moderator named them or they took it in a
    swap (both sent word), or when the facilitator notice was sent (its timer done). Others were not, and a session
    that already started or has nobody records nobody."""
    await upgrade(empty_database, "0007")
    assert COLUMNS_0008.isdisjoint(await session_columns(empty_database))
    now = clock.now()
    async with empty_database.transaction() as session:
        _community, circle, (amal, ben) = await add_evening_circle(session, clock, ("amal", "ben"))
        # number: (status, facilitator, source, notice timer status or None for no timer)
        sessions: dict[int, tuple[str, Member | None, str, str | None]] = {
            1: ("scheduled", amal, "rotation", "done"),  # the notice went out
            2: ("scheduled", amal, "rotation", "pending"),  # not yet
            3: ("scheduled", ben, "rotation", "skipped"),  # skipped while the bot was down: nobody told
            4: ("scheduled", ben, "moderator", "pending"),  # named by a moderator: they had word
            5: ("scheduled", amal, "swap", None),  # took it in a swap
            6: ("scheduled", None, "rotation", "done"),  # nobody to tell
            7: ("closed", amal, "rotation", "done"),  # over: nothing more to tell anyone
        }
        for number, (status, lead, source, notice) in sessions.items():
            fields = session_fields(circle.id, now + timedelta(days=7 * number), now)
            await session.execute(
                insert(SESSIONS_0007).values(
                    id=number,
                    status=status,
                    facilitator_id=lead.id if lead else None,
                    facilitator_source=source,
                    **fields,
                )
            )
            add_children(session, circle.id, number, amal, due=now, now=now)
            if notice is not None:
                session.add(Timer(key=f"notice:{number}", kind="facilitator_notice", circle_id=circle.id,
                                  session_id=number, status=notice, due_at=now, created_at=now))  # fmt: skip
    children = await cascading_rows(empty_database)
    assert children == {"attendance": 7, "swap_requests": 0, "timers": 13}

    await check_upgrade_from(empty_database, "0007", children)
    async with empty_database.transaction() as session:
        rows = (await session.execute(select(CircleSession.id, CircleSession.facilitator_notified_id))).all()
    assert sorted(rows) == [(1, amal.id), (2, None), (3, None), (4, ben.id), (5, amal.id), (6, None), (7, None)]

    await check_downgrade_to(
        empty_database, "0007", children, added=COLUMNS_0008, sessions=(SESSIONS_0007, len(sessions))
    )


# --- 0009: ids are never reused ------------------------------------------------------------------------------------


async def _add_session(session: AsyncSession, circle_id: int, start: datetime, now: datetime) -> CircleSession:
    row = CircleSession(**session_fields(circle_id, start, now))
    session.add(row)
    await session.flush()
    return row


async def _replace_highest(database: Database, model: type[Base], make: Callable[[int], Base]) -> tuple[int, int]:
    """Delete the row with the highest id and add another; returns both ids."""
    async with database.transaction() as session:
        highest = await session.scalar(select(func.max(model.id)))  # type: ignore[attr-defined]
        assert highest is not None
        await session.execute(delete(model).where(model.id == highest))  # type: ignore[attr-defined]
    async with database.transaction() as session:
        row = make(highest)
        session.add(row)
        await session.flush()
        return highest, int(row.id)  # type: ignore[attr-defined]


async def test_0009_never_gives_an_id_twice_and_keeps_every_row(empty_database: Database, clock: ManualClock) -> None:
    """On SQLite each table is rebuilt with AUTOINCREMENT; rows and the rows that cascade from them stay. Afterwards
    the id of a deleted row is not given again, even the highest one, on either backend; and a session id deleted
    before the upgrade that an outbox key still names is not given again either."""
    await upgrade(empty_database, "0008")
    now = clock.now()
    async with empty_database.transaction() as session:
        community, circle, (amal, ben, _chen) = await add_evening_circle(session, clock, ("amal", "ben", "chen"))
        rows = [await _add_session(session, circle.id, now + timedelta(days=7 * week), now) for week in (1, 2, 3)]
        for row in rows:
            add_children(session, circle.id, row.id, amal, due=row.start_at, now=now)
            session.add(SwapRequest(session_id=row.id, from_member=amal.id, to_member=ben.id, created_at=now))
        # The third session was re-planned away before the upgrade, after its reminder went out.
        gone = rows[-1].id
        await session.delete(rows[-1])
        session.add(OutboxItem(key=f"reminder:{gone}:1440:{amal.id}", community_id=community.id, platform="console",
                               kind="dm", target="amal", text="", status="delivered", due_at=now, created_at=now,
                               member_id=amal.id))  # fmt: skip
    kept = [row.id for row in rows[:-1]]
    children = await cascading_rows(empty_database)
    assert children == {"attendance": 2, "swap_requests": 2, "timers": 2}

    await check_upgrade_from(empty_database, "0008", children)
    async with empty_database.transaction() as session:
        assert list((await session.execute(select(CircleSession.id).order_by(CircleSession.id))).scalars()) == kept
        assert await session.scalar(select(func.count()).select_from(Member)) == 3
        fresh = await _add_session(session, circle.id, now + timedelta(days=28), now)
    assert fresh.id > gone  # not the id the outbox still names
    start = now + timedelta(days=35)
    deleted, added = await _replace_highest(
        empty_database,
        CircleSession,
        lambda _: CircleSession(**(session_fields(circle.id, start, now) | {"end_at": start})),
    )
    assert added > deleted
    deleted, added = await _replace_highest(
        empty_database, Member, lambda _: Member(platform="console", native_id="dana", created_at=now)
    )  # chen goes (amal and ben have rows that cascade from them), dana comes
    assert added > deleted
    deleted, added = await _replace_highest(
        empty_database,
        OutboxItem,
        lambda _: OutboxItem(
            key="after",
            community_id=community.id,
            platform="console",
            kind="dm",
            target="ben",
            text="hello",
            due_at=now,
            created_at=now,
        ),
    )
    assert added > deleted

    await check_downgrade_to(empty_database, "0008", children)


async def test_sqlite_tables_have_autoincrement_as_the_models_say(database: Database) -> None:
    """AUTOINCREMENT is not something Alembic compares: every table the models give it to has it once migrated
    (a table added without it in its migration fails here), and every model table with an id of its own has it."""
    if database.dialect != "sqlite":
        pytest.skip("AUTOINCREMENT is SQLite's; PostgreSQL sequences never reuse a value")
    async with database.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))).all()
    created: dict[str, str] = {str(name): str(sql) for name, sql in rows}
    expected = {
        name
        for name, table in Base.metadata.tables.items()
        if "AUTOINCREMENT" in str(CreateTable(table).compile(dialect=sqlite.dialect()))
    }
    assert expected == {name for name, sql in created.items() if "AUTOINCREMENT" in sql}
    own_ids = {
        name
        for name, table in Base.metadata.tables.items()
        if [column.name for column in table.primary_key.columns] == ["id"]
    }
    assert own_ids == expected
