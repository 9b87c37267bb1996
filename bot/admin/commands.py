"""The ``admin`` commands: setup (a guided checklist), set, show and status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.admin import settings, status
from bot.commands import Command, Option
from bot.engine import CommandContext
from bot.model import Action, Role

__all__ = ["COMMANDS"]

SETTING = Option("setting", max_length=40, help_key="admin.option.setting")
VALUE = Option("value", rest=True, max_length=255, help_key="admin.option.value")

EXAMPLES: dict[str, dict[str, str]] = {
    "moderators": {"discord": "123456789012345678", "matrix": "!moderators:example.org", "console": "#moderators"},
    "fallback": {"discord": "123456789012345679", "matrix": "!backup:example.org", "console": "#backup"},
    "on-call": {"discord": "234567890123456789", "matrix": "@oncall:example.org", "console": "on-call"},
}
"""Example ids for ``admin setup``'s commands: identifiers, the same in every language."""
PLAIN_EXAMPLES = {"timezone": "Europe/London", "country": "GB"}


def _shown(ctx: CommandContext, value: str | None) -> str:
    return value if value else ctx.t("admin.value.unset")


def _example(ctx: CommandContext, key: str) -> str:
    if key in PLAIN_EXAMPLES:
        return PLAIN_EXAMPLES[key]
    return EXAMPLES[key][ctx.invocation.community.platform.value]


async def set_setting(ctx: CommandContext) -> Sequence[Action]:
    """Change one setting, or ``reset`` it to the configuration's value."""
    key = ctx.text("setting").casefold()
    raw = ctx.text("value")
    platform = ctx.invocation.community.platform
    if key in settings.KEYS and raw.strip().casefold() == settings.RESET:
        changed = await settings.reset(ctx.session, ctx.community, key)
        if changed is None:
            return [ctx.reply("admin.set.not_overridden", setting=key)]
        before, after = changed
        ctx.audit("admin.reset", f"setting:{key}", old=before, new=after)
        return [ctx.reply("admin.set.reset", setting=key, value=_shown(ctx, after))]
    value = settings.validate(key, raw, platform)
    previous = await settings.set_value(ctx.session, ctx.community, key, value, ctx.member, ctx.clock.now())
    ctx.audit("admin.set", f"setting:{key}", old=previous, new=value)
    if key == "language" and value is not None:
        # Answer in the language just chosen, unless the caller chose their own.
        ctx.locale = ctx.messages.resolve_locale(ctx.member.locale, value)
    return [ctx.reply("admin.set.done", setting=key, old=_shown(ctx, previous), value=_shown(ctx, value))]


async def show(ctx: CommandContext) -> Sequence[Action]:
    """Every setting, its value, and whether it comes from the configuration or was set in chat (by whom)."""
    lines = [ctx.t("admin.show.header", community=ctx.community.name)]
    for setting in await settings.describe(ctx.session, ctx.community):
        if setting.override is None:
            source = ctx.t("admin.show.from_config")
        else:
            who = setting.set_by.native_id if setting.set_by is not None else ctx.t("admin.show.someone")
            source = ctx.t("admin.show.from_chat", who=who, when=setting.override.updated_at.strftime("%Y-%m-%d %H:%M"))
        lines.append(ctx.t("admin.show.line", setting=setting.key, value=_shown(ctx, setting.value), source=source))
    lines.append(ctx.t("admin.show.footer", set=f"{ctx.prefix}admin set", reset=f"{ctx.prefix}admin set KEY reset"))
    return [ctx.reply("common.lines", text="\n".join(lines))]


async def setup(ctx: CommandContext) -> Sequence[Action]:
    """A checklist of the essentials: what is set, what is missing, and the exact command for each missing one."""
    community = ctx.community
    changed = await settings.overrides(ctx.session, community)
    missing = settings.missing_essentials(community, tuple(changed))
    lines = [ctx.t("admin.setup.header", community=community.name)]
    for key in ("moderators", "timezone", "language", "country", "on-call", "fallback"):
        value = settings.current(community, key)
        mark = "✗" if key in missing else "✓"
        lines.append(ctx.t(f"admin.setup.item.{key.replace('-', '_')}", mark=mark, value=_shown(ctx, value)))
    if missing:
        lines.append(ctx.t("admin.setup.next"))
        for number, key in enumerate(missing, start=1):
            lines.append(
                ctx.t(
                    f"admin.setup.why.{key.replace('-', '_')}",
                    number=number,
                    command=f"{ctx.prefix}admin set {key} {_example(ctx, key)}",
                )
            )
    else:
        lines.append(ctx.t("admin.setup.complete", status=f"{ctx.prefix}admin status"))
    lines.append(ctx.t("admin.setup.roles"))
    return [ctx.reply("common.lines", text="\n".join(lines))]


def _age(ctx: CommandContext, age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return ctx.t("admin.age.minutes", count=minutes)
    if minutes < 48 * 60:
        return ctx.t("admin.age.hours", count=minutes // 60)
    return ctx.t("admin.age.days", count=minutes // (24 * 60))


async def show_status(ctx: CommandContext) -> Sequence[Action]:
    """Adapters, scheduler, delivery and anything misconfigured, for this community."""
    now = ctx.clock.now()
    lines = [ctx.t("admin.status.header", community=ctx.community.name)]
    live = await ctx.status() if ctx.status is not None else []
    lines.append(ctx.t("admin.status.section_live"))
    if live:
        lines.extend(f"  {status.render_line(ctx.messages, ctx.locale, line)}" for line in live)
    else:
        lines.append(f"  {ctx.t('admin.status.no_live')}")
    timers = await status.scheduler_state(ctx.session, ctx.community.id)
    next_due = (
        timers.next_due.strftime("%Y-%m-%d %H:%M UTC") if timers.next_due is not None else ctx.t("admin.value.none")
    )
    lines.append(ctx.t("admin.status.timers", pending=timers.pending, next=next_due))
    delivery = await status.delivery_state(ctx.session, ctx.community.id, now)
    oldest = _age(ctx, delivery.oldest_age) if delivery.oldest_age is not None else ctx.t("admin.value.none")
    lines.append(
        ctx.t(
            "admin.status.delivery",
            pending=delivery.pending,
            alerts=delivery.alerts_pending,
            oldest=oldest,
            failed=delivery.failed_day,
        )
    )
    found = await status.problems(ctx.session, ctx.community, ctx.safety, ctx.prefix)
    if found:
        lines.append(ctx.t("admin.status.section_problems"))
        lines.extend(f"  {ctx.t(problem.key, **problem.params)}" for problem in found)
    else:
        lines.append(ctx.t("admin.status.no_problems"))
    return [ctx.reply("common.lines", text="\n".join(lines))]


COMMANDS = (
    Command("admin setup", setup, min_role=Role.ADMIN),
    Command("admin set", set_setting, options=(SETTING, VALUE), min_role=Role.ADMIN),
    Command("admin show", show, min_role=Role.MODERATOR),
    Command("admin status", show_status, min_role=Role.MODERATOR),
)
