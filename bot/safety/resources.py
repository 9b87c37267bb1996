"""Choosing and showing the help lines and services a member is offered."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config import Resource
from bot.i18n import Catalogue

__all__ = ["TOPICS", "format_resources", "pick"]

TOPICS = ("crisis", "mental-health", "legal", "coping", "community")


def pick(
    resources: Sequence[Resource], *, country: str | None, language: str, topic: str | None = None
) -> list[Resource]:
    """Resources for ``topic`` that serve the person's country and language, local ones first.

    When nothing matches the language, those for the country in any language are better than none: a crisis line
    in English still helps an Arabic speaker more than silence.
    """
    on_topic = [r for r in resources if topic is None or topic in r.topics]
    chosen = [r for r in on_topic if r.serves(country, language)]
    if not chosen:
        chosen = [r for r in on_topic if any(r.serves(country, lang) for lang in r.languages)]
    # Local services before international directories.
    return sorted(chosen, key=lambda r: "*" in r.countries)


def format_resources(messages: Catalogue, locale: str, resources: Sequence[Resource]) -> str:
    """One line per resource: name, how to reach it, when it was last checked."""
    lines = []
    for resource in resources:
        ways = " · ".join(part for part in (resource.phone, resource.url, resource.text) if part)
        lines.append(
            messages.t(
                locale,
                "resources.line",
                name=resource.name,
                ways=ways,
                verified=resource.last_verified.isoformat(),
            )
        )
    return "\n".join(lines)
