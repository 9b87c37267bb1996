"""Every table declares how one member's data is exported and forgotten: a new table without a policy fails here."""

from __future__ import annotations

import bot.storage  # noqa: F401  (every table module, so the metadata is complete)
from bot.privacy.registry import POLICIES, policy_for
from bot.storage.models import Base, Member


def _member_columns(table_name: str) -> list[str]:
    table = Base.metadata.tables[table_name]
    return [
        column.name
        for column in table.columns
        if any(fk.column.table.name == Member.__tablename__ for fk in column.foreign_keys)
    ]


def test_every_table_has_a_declared_policy() -> None:
    missing = [table.name for table in Base.metadata.sorted_tables if policy_for(table.name) is None]
    assert missing == [], f"declare how these tables export and forget a member in bot/privacy/registry.py: {missing}"


def test_no_policy_names_a_table_that_does_not_exist() -> None:
    assert {policy.table for policy in POLICIES} <= set(Base.metadata.tables)
    assert len({policy.table for policy in POLICIES}) == len(POLICIES)


def test_personal_tables_can_forget_and_the_rest_hold_no_member() -> None:
    for policy in POLICIES:
        if policy.personal:
            assert policy.forget is not None or policy_for(policy.covered_by or "") is not None, policy.table
            assert (policy.export is None) == (policy.export_key is None), policy.table
        else:
            assert policy.forget is None, policy.table
            assert policy.export is None, policy.table
            assert _member_columns(policy.table) == [], f"{policy.table} points at members but says it holds no one"
        assert policy.description, policy.table


def test_every_table_pointing_at_members_is_personal() -> None:
    for table in Base.metadata.sorted_tables:
        if _member_columns(table.name) or table.name == Member.__tablename__:
            policy = policy_for(table.name)
            assert policy is not None, table.name
            assert policy.personal, table.name


def test_the_member_row_is_forgotten_last() -> None:
    assert POLICIES[-1].table == Member.__tablename__
