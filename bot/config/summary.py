"""A readable account of loaded settings, for ``peer-circles check-config``. Secrets never appear in it."""

from __future__ import annotations

import re

from bot.config.durations import format_duration
from bot.config.schema import Community, Settings
from bot.model import Platform

__all__ = ["mask_url", "summarize"]

_MASK = "***"
_SECRET_QUERY = re.compile(r"([?&](?:password|passwd|pwd|token|secret)=)[^&#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` with any password (in the user part or the query) replaced by ``***``."""
    # Plain string surgery: urlunsplit would rewrite "sqlite+aiosqlite:////abs/path" into a different URL.
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority_end = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    authority, tail = rest[:authority_end], rest[authority_end:]
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)
        if ":" in userinfo:
            authority = f"{userinfo.split(':', 1)[0]}:{_MASK}@{host}"
    tail = _SECRET_QUERY.sub(rf"\g<1>{_MASK}", tail)
    return f"{scheme}{separator}{authority}{tail}"


def _on(flag: bool) -> str:
    return "on" if flag else "off"


def _platform_lines(settings: Settings) -> list[str]:
    console = settings.platforms.console
    if console.enabled is None:
        why = "no other platform is enabled" if settings.console_enabled() else "another platform is enabled"
        console_state = f"{'enabled' if settings.console_enabled() else 'disabled'} (automatic: {why})"
    else:
        console_state = "enabled" if console.enabled else "disabled"
    lines = [f"Console: {console_state}; community {console.community}, user {console.user}, locale {console.locale}"]

    discord = settings.platforms.discord
    if discord.enabled:
        shards = "automatic" if discord.shard_ids is None else ", ".join(map(str, discord.shard_ids))
        detail = (
            f"token {'set' if discord.token else 'MISSING'}, commands synced per {discord.sync_commands}, "
            f"message content intent {_on(discord.message_content_intent)}, shards {shards}"
        )
        if discord.api_base_url or discord.gateway_url:
            detail += f", API {discord.api_base_url or 'default'}, gateway {discord.gateway_url or 'default'}"
        lines.append(f"Discord: enabled ({detail})")
    else:
        lines.append("Discord: disabled")

    matrix = settings.platforms.matrix
    if matrix.enabled:
        login = "access token" if matrix.access_token else "password"
        lines.append(
            f"Matrix: enabled ({matrix.user_id} on {matrix.homeserver}, signs in with {login}, device "
            f"{matrix.device_id}, prefix {matrix.command_prefix}, encryption {_on(matrix.encryption)}, "
            f"sessions in a {matrix.sessions_as})"
        )
    else:
        lines.append("Matrix: disabled")
    return lines


def _community_lines(settings: Settings, community: Community) -> list[str]:
    platform = community.platform.value
    inactive = "" if settings.platform_enabled(community.platform) else f" [inactive: {platform} is disabled]"
    native = {
        Platform.DISCORD: f"Discord server {community.native_id}",
        Platform.MATRIX: f"Matrix {'space' if community.space else 'room'} {community.native_id}",
        Platform.CONSOLE: f"console community {community.native_id}",
    }[community.platform]
    if community.platform is Platform.MATRIX and community.rooms:
        native += f" (rooms: {', '.join(community.rooms)})"
    moderators = community.moderators
    if moderators.destination is None:
        alerts = "MISSING: alerts cannot reach moderators"
    else:
        alerts = moderators.destination
        if moderators.fallback is not None:
            alerts += f", fallback {moderators.fallback}"
        if moderators.on_call_role is not None:
            alerts += f", mentioning {moderators.on_call_role}"
    return [
        f"  - {community.id} ({platform}): {community.name}{inactive}",
        f"      {native}; locale {community.locale}; timezone {community.timezone}; "
        f"country {community.country or 'not set'}",
        f"      moderator alerts: {alerts}",
    ]


def _safety_line(settings: Settings) -> str:
    safety = settings.safety
    if not safety.enabled:
        return "Safety: OFF - crisis messages are not detected and moderators are not alerted"
    mode = (
        "DRY RUN - detects and logs only; moderators are not alerted and nobody gets a reply"
        if safety.dry_run
        else "on"
    )
    return (
        f"Safety: {mode}; replies to distress {_on(safety.distress_replies)}; alerts resent after "
        f"{format_duration(safety.alert_resend_after)} without an answer; reply cooldown "
        f"{format_duration(safety.reply_cooldown)}; {len(safety.extra_phrases)} added phrase(s), "
        f"{len(safety.removed_phrases)} removed, {len(safety.exceptions)} exception(s)"
    )


def summarize(settings: Settings) -> list[str]:
    """Lines describing ``settings`` for a server owner: storage, platforms, communities, safety, retention.

    Passwords in the database URL are masked; tokens and passwords are only ever reported as set or missing.
    """
    database = settings.database_url()
    origin = "" if settings.database.url else " (default: SQLite file in the data directory)"
    lines = [
        f"Database: {mask_url(database)}{origin}",
        f"Data directory: {settings.data_dir}",
        f"Logging: {settings.logging.level}, {settings.logging.format}",
        *_platform_lines(settings),
        f"Communities: {len(settings.communities)}",
    ]
    for community in settings.communities:
        lines += _community_lines(settings, community)
    countries = sorted({country for resource in settings.resources for country in resource.countries})
    where = f" (countries: {', '.join(countries)})" if countries else ""
    lines.append(f"Resources: {len(settings.resources)} help line(s){where}")
    lines.append(_safety_line(settings))
    scheduling = settings.scheduling
    reminders = ", ".join(format_duration(offset) for offset in scheduling.reminder_offsets) or "none"
    lines.append(
        f"Scheduling: reminders {reminders} before each session; facilitators told "
        f"{format_duration(scheduling.facilitator_notice)} ahead; missed work runs if at most "
        f"{format_duration(scheduling.misfire_grace)} late; session grace period "
        f"{format_duration(scheduling.session_grace)}"
    )
    privacy = settings.privacy
    lines.append(
        f"Retention: escalated message text {format_duration(privacy.escalated_text_retention)}, "
        f"audit log {format_duration(privacy.audit_retention)}, check-in notes "
        f"{format_duration(privacy.checkin_note_retention)}, session records "
        f"{format_duration(privacy.session_record_retention)}"
    )
    return lines
