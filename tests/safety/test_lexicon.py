"""Lexicons as data: the shipped files load, every entry is well formed, and bad files are refused clearly."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from bot.safety.lexicon import (
    CUE_KINDS,
    LexiconError,
    PhraseIndex,
    expand,
    load_lexicon,
    parse_lexicon,
    shipped_lexicons,
)
from bot.safety.normalise import normalise


def test_the_three_lexicons_ship() -> None:
    names = {lexicon.name: lexicon for lexicon in shipped_lexicons()}
    assert set(names) == {"en", "ar", "ar-latn"}
    assert names["ar-latn"].language == "ar"
    for lexicon in names.values():
        tiers = {entry.tier for entry in lexicon.entries}
        assert tiers == {"distress", "concern", "urgent"}, lexicon.name


def test_every_entry_has_a_valid_tier_and_no_bare_short_word() -> None:
    for lexicon in shipped_lexicons():
        for entry in lexicon.entries:
            assert entry.tier in ("distress", "concern", "urgent")
            assert len(entry.phrase.split()) >= 2 or len(entry.phrase) >= 6, entry.phrase
            assert normalise(entry.phrase), entry.phrase


def test_never_a_bare_kill_or_die() -> None:
    phrases = {normalise(e.phrase) for lexicon in shipped_lexicons() for e in lexicon.entries}
    for word in ("kill", "die", "dead", "suicide", "pills", "موت", "انتحر", "اموت"):
        assert normalise(word) not in phrases


def test_no_phrase_is_shipped_at_two_tiers() -> None:
    seen: defaultdict[str, set[tuple[str, bool]]] = defaultdict(set)
    for lexicon in shipped_lexicons():
        for entry in lexicon.entries:
            seen[normalise(entry.phrase)].add((entry.tier, entry.other))
    conflicts = {key: found for key, found in seen.items() if len(found) > 1}
    assert not conflicts


def test_arabic_covers_the_main_dialects() -> None:
    phrases = {e.phrase for lexicon in shipped_lexicons() if lexicon.name == "ar" for e in lexicon.entries}
    for phrase in ("أريد أن أموت", "عايز أموت", "بدي موت", "ابي اموت", "بغيت نموت"):  # MSA, EG, LEV, GULF, MAGH
        assert phrase in phrases


def test_cues_have_known_kinds() -> None:
    for lexicon in shipped_lexicons():
        assert {cue.kind for cue in lexicon.cues} <= set(CUE_KINDS)
        assert lexicon.words["filler"]
        assert lexicon.words["first_person"]


def test_expand_writes_variants() -> None:
    assert expand("wish i (was never|wasn't) born") == ["wish i was never born", "wish i wasn't born"]
    assert expand("(just |)die now") == ["just die now", "die now"]
    with pytest.raises(ValueError, match="more than"):
        expand("(a|b|c|d)" * 5)


def _document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "lexicon": "test",
        "language": "en",
        "groups": [{"tier": "concern", "phrases": ["want to vanish"]}],
    }
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_document(groups=[{"tier": "worried", "phrases": ["want to vanish"]}]), "groups\\[0\\].tier"),
        (_document(groups=[{"tier": "concern", "phrases": ["kill"]}]), "bare word under 6 letters"),
        (_document(groups=[{"tier": "concern", "phrases": [False]}]), "quote it"),
        (_document(groups=[{"tier": "concern", "phrases": ["ok now"], "colour": "red"}]), "groups\\[0\\]"),
        (_document(extra=1), "unknown keys"),
        (_document(language="fr"), "language"),
        (_document(cues={"rumour": ["x"]}), "unknown cue kind"),
        (_document(groups=[{"tier": "concern", "phrases": ["\u200b\u200b\u200b\u200b\u200b\u200b"]}]), "empty"),
    ],
)
def test_bad_lexicons_are_refused_with_their_place(document: dict[str, object], message: str) -> None:
    with pytest.raises(LexiconError, match=message):
        parse_lexicon(document, "test.yaml")


def test_load_lexicon_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "fr.yaml"
    path.write_text("lexicon: x\nlanguage: en\ngroups:\n  - tier: urgent\n    phrases: [on the ledge now]\n", "utf-8")
    lexicon = load_lexicon(path)
    assert [(e.phrase, e.tier, e.lexicon) for e in lexicon.entries] == [("on the ledge now", "urgent", "x")]


def test_index_removes_and_reports_unknown_removals() -> None:
    index = PhraseIndex(shipped_lexicons(), removed=["I HATE MY LIFE", "no such phrase here"])
    assert all(normalise(e.phrase) != normalise("i hate my life") for e in index.entries)
    assert index.unknown_removals == ("no such phrase here",)
