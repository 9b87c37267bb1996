"""The ``safety`` and ``resources`` sections: tuning of crisis detection, and the help lines offered."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from importlib import resources
from typing import Annotated, Literal, Self

import yaml
from pydantic import AfterValidator, Field, model_validator

from bot.config.fields import (
    CASE_INSENSITIVE,
    ConfigModel,
    Duration,
    Language,
    PositiveDuration,
    check_country,
    check_url,
    raise_rule_problems,
)

__all__ = ["PhraseException", "PhraseRule", "Resource", "SafetySettings", "Tier", "Topic", "default_resources"]

Tier = Literal["distress", "concern", "urgent"]
Topic = Literal["crisis", "mental-health", "legal", "coping", "community"]

_MIN_SINGLE_WORD = 6


def _check_phrase(phrase: str) -> str:
    # A short single word ("sad", "die") matches inside ordinary chat and would flood moderators with alerts.
    if len(phrase.split()) < 2 and len(phrase) < _MIN_SINGLE_WORD:
        raise ValueError(
            f"{phrase!r} is too short to match safely: use at least two words or "
            f"{_MIN_SINGLE_WORD} letters, so everyday words do not set off alerts"
        )
    return phrase


_Phrase = Annotated[str, Field(min_length=1, max_length=200)]


class PhraseRule(ConfigModel):
    """A phrase added to the built-in lexicon for one language, at one tier of concern."""

    phrase: Annotated[_Phrase, AfterValidator(_check_phrase)]
    tier: Annotated[Tier, CASE_INSENSITIVE]
    language: Language


class PhraseException(ConfigModel):
    """A phrase that must never raise an alert in one language (a band name, a local saying)."""

    phrase: _Phrase
    language: Language


class SafetySettings(ConfigModel):
    """Crisis detection and escalation to human moderators.

    ``dry_run`` alerts moderators (marked as a dry run) but never replies to members, for tuning a new lexicon.
    ``merge_window``: one person's worrying messages within it update one alert instead of opening many.
    ``follow_up_after``: how long after an alert is resolved the person gets a private check-in (``None``: never).
    """

    enabled: bool = True
    dry_run: bool = False
    distress_replies: bool = True
    alert_resend_after: PositiveDuration = timedelta(minutes=30)
    reply_cooldown: Duration = timedelta(minutes=10)
    merge_window: PositiveDuration = timedelta(hours=1)
    follow_up_after: PositiveDuration | None = timedelta(days=1)
    extra_phrases: list[PhraseRule] = Field(default_factory=list)
    removed_phrases: list[_Phrase] = Field(default_factory=list)
    exceptions: list[PhraseException] = Field(default_factory=list)


_ResourceCountry = Annotated[str, AfterValidator(partial(check_country, allow_any=True))]
_ResourceUrl = Annotated[str, AfterValidator(partial(check_url, schemes=("http", "https")))]


class Resource(ConfigModel):
    """A help line or service offered to people in distress, matched by topic, country and language.

    ``countries`` may contain ``*`` for a service that serves everyone (an international directory).
    """

    name: Annotated[str, Field(min_length=1, max_length=100)]
    topics: Annotated[list[Annotated[Topic, CASE_INSENSITIVE]], Field(min_length=1)]
    countries: Annotated[list[_ResourceCountry], Field(min_length=1)]
    languages: Annotated[list[Language], Field(min_length=1)]
    phone: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    url: _ResourceUrl | None = None
    text: Annotated[str, Field(min_length=1, max_length=1000)] | None = None
    last_verified: date

    @model_validator(mode="after")
    def _check_reachable(self) -> Self:
        if self.phone is None and self.url is None and self.text is None:
            raise_rule_problems([((), "needs at least one of phone, url or text, or nobody can reach it")])
        return self

    def serves(self, country: str | None, language: str) -> bool:
        """True when this resource suits someone in ``country`` (None: unknown) who speaks ``language``."""
        if language not in self.languages:
            return False
        return "*" in self.countries or (country is not None and country.upper() in self.countries)


def default_resources() -> list[Resource]:
    """The well-known lines offered when the configuration lists none: an empty list is a choice, silence is not."""
    raw = yaml.safe_load(resources.files("bot.config").joinpath("default_resources.yaml").read_text("utf-8"))
    return [Resource.model_validate({**entry, "last_verified": str(entry["last_verified"])}) for entry in raw]
