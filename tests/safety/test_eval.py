"""The labelled evaluation sets: recall on concern-or-urgent and false alarms on negatives, per language.

Each set (eval_en.yaml, eval_ar.yaml) holds realistic chat messages with the tier a careful moderator would expect:
positives of each tier, evasions, and hard negatives (idioms, news and fiction, denial, the past, other people's
stories, games, sport, accidents, everyday chat). A disclosed past is labelled distress (see detector.py).

- recall: the share of concern or urgent messages detected at concern or above: at least 0.95;
- false alarms: the share of none or distress messages raised to concern or above (a moderator alert): at most
  0.05; and of none messages given any tier at all (an unwanted reply): at most 0.05.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.safety.detector import Detector, Tier

HERE = Path(__file__).parent
MIN_RECALL = 0.95
MAX_FALSE_ALARMS = 0.05
MIN_MESSAGES = {"en": 150, "ar": 100}
NEGATIVE_KINDS = {"idiom", "news", "denial", "gaming", "accident", "everyday"}


def _load(language: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((HERE / f"eval_{language}.yaml").read_text("utf-8"))
    assert isinstance(data, list)
    return data


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.build()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_set_is_large_and_varied(language: str) -> None:
    data = _load(language)
    assert len(data) >= MIN_MESSAGES[language]
    assert {item["tier"] for item in data} == {"none", "distress", "concern", "urgent"}
    kinds = Counter(item["kind"] for item in data)
    assert NEGATIVE_KINDS | {"direct", "evasion", "abuse", "urgent", "other", "distress", "past"} <= set(kinds)
    assert all(set(item) <= {"text", "tier", "kind", "other"} for item in data)
    assert len({item["text"] for item in data}) == len(data), "duplicate messages"


@pytest.mark.parametrize("language", ["en", "ar"])
def test_recall_and_false_alarms(detector: Detector, language: str) -> None:
    data = _load(language)
    verdicts = [(item, detector.scan(item["text"])) for item in data]
    positives = [(i, d) for i, d in verdicts if i["tier"] in ("concern", "urgent")]
    negatives = [(i, d) for i, d in verdicts if i["tier"] in ("none", "distress")]
    nones = [(i, d) for i, d in verdicts if i["tier"] == "none"]
    missed = [i["text"] for i, d in positives if d.tier < Tier.CONCERN]
    alarms = [i["text"] for i, d in negatives if d.tier >= Tier.CONCERN]
    replies = [i["text"] for i, d in nones if d.tier > Tier.NONE]
    recall = 1 - len(missed) / len(positives)
    alarm_rate = len(alarms) / len(negatives)
    reply_rate = len(replies) / len(nones)
    summary = (
        f"{language}: {len(data)} messages, recall {recall:.3f} ({len(positives)} positives), "
        f"false alarms {alarm_rate:.3f} ({len(negatives)} negatives), unwanted replies {reply_rate:.3f}"
    )
    print(summary)
    assert recall >= MIN_RECALL, f"{summary}; missed: {missed}"
    assert alarm_rate <= MAX_FALSE_ALARMS, f"{summary}; false alarms: {alarms}"
    assert reply_rate <= MAX_FALSE_ALARMS, f"{summary}; unwanted replies: {replies}"


@pytest.mark.parametrize("language", ["en", "ar"])
def test_worry_about_others_is_recognised(detector: Detector, language: str) -> None:
    others = [item for item in _load(language) if item.get("other")]
    recognised = [item for item in others if detector.scan(item["text"]).about_other]
    assert len(recognised) / len(others) >= 0.9, [i["text"] for i in others if i not in recognised]
