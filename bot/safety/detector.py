"""Crisis-language detection: tiers, explainable matches, and the rules that read a phrase in its context.

A message is normalised (:mod:`bot.safety.normalise`) and scanned once for crisis phrases. Most messages stop
there. When a phrase matched, the message is read again with offsets and context cues, and each match is judged:

- **denial** — a negation right before the phrase, with only filler words between ("I would never kill myself",
  "I'm not going to hurt myself", "مش عايز اموت"): the match is dropped;
- **reported speech, news and fiction** — a cue such as "the article", "in the movie", "المسلسل" in the same
  sentence: dropped when the phrase is about someone else, or when the cue comes first and the writer does not speak
  about themself in between ("In the movie she says 'I want to die'" is dropped; "after the news I want to die" is
  not);
- **games, sport, accidents** — "boss fight", "at the gym", "shaving", "بالغلط" in the same clause: dropped;
- **the past** — "used to", "years ago", "زمان كنت" in the same clause: a disclosed history, lowered to distress
  (a gentle offer of support, no moderator alert). A recent event ("last night") is not the past here;
- **someone else** — a third-person phrase ("wants to kill herself"), or a person named before the phrase in the
  same clause ("my friend said ...") with a reporting verb or no first-person word between: ``about_other``, and
  the tier stays (a different reply, still a moderator heads-up);
- **idioms** — an exception phrase ("of embarrassment", "من الضحك", "killing it") cancels the crisis phrase it
  overlaps or directly continues, unless a method word or another concern/urgent phrase is in the message. An
  owner's exception always cancels (the config promises it never alerts);
- **method and time** — a suicidal or self-harm phrase with a method or place nearby ("pills", "the roof") becomes
  urgent; active intent ("kill myself") with a time in the same sentence ("tonight") becomes urgent. The cue that
  raised it is listed as a match of its own.

Every window is bounded, so the rules stay linear in the length of the message.
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from bot.safety.lexicon import CUE_KINDS, Cue, Entry, Hit, PhraseIndex, shipped_lexicons
from bot.safety.normalise import normalise, normalise_mapped

if TYPE_CHECKING:
    from bot.config.safety import SafetySettings

__all__ = ["Detection", "Detector", "Match", "Tier"]

log = logging.getLogger(__name__)


class Tier(IntEnum):
    """How worrying a message is; ordered, so ``max`` and comparisons work."""

    NONE = 0
    DISTRESS = 1
    CONCERN = 2
    URGENT = 3

    @property
    def label(self) -> str:
        """The tier's name as configured and logged: none, distress, concern, urgent."""
        return self.name.lower()


_BY_NAME = {"distress": Tier.DISTRESS, "concern": Tier.CONCERN, "urgent": Tier.URGENT}
_NEGATION_REACH = 40  # characters between a negation and the phrase it denies, fillers only
_WINDOW = 200  # how far context is read either side of a phrase, so that the rules stay linear
_METHOD_REACH = 300
_EXCEPTION_REACH = 120
_MAX_MATCHES = 32  # a pasted wall of text reports its worst matches, not thousands
_RAISED_BY_METHOD = frozenset({"suicidal", "self-harm"})
_ABOUT_WRITER = frozenset({"abuse", "harassment"})  # "my dad hits me" names a person but is about the writer
_QUOTES = frozenset("'\"‘’“”«»„")
_SENTENCE_END = re.compile(r"[.!?؟;؛]")
_WORD = re.compile(r"[^\W_]+")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_SCRIPT = re.compile("[A-Za-z\u00c0-\u024f]")


@dataclass(frozen=True, slots=True)
class Match:
    """One phrase that counted: its lexicon phrase (an id, not the member's words), tier, lexicon and span.

    ``span`` is [start, end) in the original text as received; ``about_other`` marks worry about someone else.
    """

    phrase: str
    tier: Tier
    lexicon: str
    span: tuple[int, int]
    about_other: bool

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (tier by name, span as a list)."""
        return {
            "phrase": self.phrase,
            "tier": self.tier.label,
            "lexicon": self.lexicon,
            "span": [self.span[0], self.span[1]],
            "about_other": self.about_other,
        }


@dataclass(frozen=True, slots=True)
class Detection:
    """The verdict on one message.

    ``about_other`` is true when every concern or urgent match is about someone else; ``language`` is the language
    of the deciding lexicon, or a guess from the script when nothing matched (None without letters).
    """

    tier: Tier
    matches: tuple[Match, ...]
    about_other: bool
    language: str | None

    def explain(self) -> str:
        """A one-line account for logs, without the message text: tier, language, and each match's phrase id,
        lexicon, tier and span."""
        parts = [
            f"{m.lexicon}:{m.phrase!r}[{m.span[0]}:{m.span[1]}]={m.tier.label}{'/other' if m.about_other else ''}"
            for m in self.matches
        ]
        other = " about_other" if self.about_other else ""
        return f"tier={self.tier.label} language={self.language or '-'}{other} matches=[{', '.join(parts)}]"

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict: tier, matches, about_other, language."""
        return {
            "tier": self.tier.label,
            "matches": [m.to_json() for m in self.matches],
            "about_other": self.about_other,
            "language": self.language,
        }


_QUIET = {language: Detection(Tier.NONE, (), False, language) for language in ("en", "ar", None)}


def _quiet(text: str) -> Detection:
    if not text.isascii() and _ARABIC_SCRIPT.search(text):
        return _QUIET["ar"]
    return _QUIET["en"] if _LATIN_SCRIPT.search(text) else _QUIET[None]


def _outermost(index: PhraseIndex, hits: list[Hit]) -> list[Hit]:
    """Drop a hit inside another of at least its tier ("kill myself" inside "kill myself tonight"), so that one
    phrase is never counted as two. Sort and sweep: O(k log k)."""
    tiers = [_BY_NAME[index.entries[h.item].tier] for h in hits]
    order = sorted(range(len(hits)), key=lambda i: (hits[i].start, -hits[i].end, -tiers[i]))
    reach = [-1] * (len(Tier))  # reach[t]: the furthest end of a hit seen so far with a tier of at least t
    kept = []
    for i in order:
        hit, tier = hits[i], tiers[i]
        if reach[tier] >= hit.end:
            continue
        kept.append(hit)
        for level in range(1, tier + 1):
            reach[level] = max(reach[level], hit.end)
    return kept


@dataclass(slots=True)
class _Judged:
    hit: Hit
    entry: Entry
    tier: Tier
    about_other: bool
    past: bool
    exception: Hit | None


class _Reading:
    """One message read in context: cues by kind, sentence and clause ends, and the judgement of each hit."""

    def __init__(self, index: PhraseIndex, text: str) -> None:
        self.index = index
        self.original = text
        self.mapped = normalise_mapped(text)
        self.text = self.mapped.text
        self.hits = _outermost(index, index.crisis_hits(self.mapped))
        self.cues: dict[str, list[Hit]] = {kind: [] for kind in CUE_KINDS}
        if not self.hits:
            return
        for hit in sorted(index.cue_hits(self.mapped), key=lambda h: (h.start, h.end)):
            self.cues[index.cues[hit.item].kind].append(hit)
        self.starts = {kind: [h.start for h in hits] for kind, hits in self.cues.items()}
        sentence = {m.start() for m in _SENTENCE_END.finditer(self.text)} | set(self.mapped.line_breaks)
        self.sentence_ends = sorted(sentence)
        self.clause_ends = sorted(sentence | {h.end - 1 for h in self.cues["clause_break"]})
        self.first_person = index.words.get("first_person", frozenset())
        self.fillers = index.words.get("filler", frozenset())

    # -- context queries ------------------------------------------------------------------------------------------

    def _window(self, ends: list[int], hit: Hit) -> tuple[int, int]:
        """The [low, high) range of the sentence or clause around ``hit``, at most ``_WINDOW`` either side."""
        before = bisect_left(ends, hit.start)
        low = ends[before - 1] + 1 if before else 0
        after = bisect_left(ends, hit.end)
        high = ends[after] if after < len(ends) else len(self.text)
        return max(low, hit.start - _WINDOW), min(high, hit.end + _WINDOW)

    def _cues(self, kind: str, low: int, high: int, *, inside: bool = True) -> list[Hit]:
        """Cues of ``kind`` starting in [low, high) (and, with ``inside``, ending by ``high``)."""
        found = self.cues[kind][bisect_left(self.starts[kind], low) : bisect_left(self.starts[kind], high)]
        return [c for c in found if c.end <= high] if inside else found

    def _speaks_of_self(self, low: int, high: int) -> bool:
        return any(word in self.first_person for word in _WORD.findall(self.text[low:high]))

    def _quoted(self, hit: Hit) -> bool:
        """Whether the phrase opens a quotation ('I want to die'): someone's words, not the writer's."""
        start = self.mapped.span(hit.start, hit.end)[0]
        return any(char in _QUOTES for char in self.original[max(0, start - 3) : start])

    def _negated(self, hit: Hit) -> bool:
        for negation in reversed(self._cues("negation", max(0, hit.start - _NEGATION_REACH), hit.start)):
            gap = self.text[negation.end : hit.start].split()
            if all(word in self.fillers for word in gap):
                anti = self._cues("anti_negation", max(0, negation.start - 40), negation.end, inside=False)
                return not any(a.start < negation.end and a.end > negation.start for a in anti)
        return False

    def _set_aside(self, hit: Hit, entry: Entry) -> bool:
        """Reported, fictional, or incidental (games, sport, accidents): not the writer's crisis."""
        low, high = self._window(self.sentence_ends, hit)
        # "I told the police he hits me": a disclosure about the writer is never someone else's story
        for cue in [] if entry.category in _ABOUT_WRITER else self._cues("reported", low, high):
            if entry.other or (
                cue.end <= hit.start and (self._quoted(hit) or not self._speaks_of_self(cue.end, hit.start))
            ):
                return True
        return bool(self._cues("context", *self._window(self.clause_ends, hit)))

    def _about_other(self, hit: Hit, entry: Entry) -> bool:
        if entry.other:
            return True
        if entry.category in _ABOUT_WRITER:
            return False
        low, _ = self._window(self.clause_ends, hit)
        for person in self._cues("other_person", low, hit.start):
            if self._cues("reporting", person.end, hit.start) or not self._speaks_of_self(person.end, hit.start):
                return True
        return False

    def _close_to_writer(self, hit: Hit, entry: Entry) -> bool:
        """A death by suicide is the writer's loss when a person of theirs is named ("my brother", "he"); a public
        figure's death is news."""
        if entry.category != "loss":
            return True
        low, _ = self._window(self.sentence_ends, hit)
        return bool(self._cues("other_person", low, hit.start))

    def _exception(self, hit: Hit) -> Hit | None:
        for cue in self._cues("exception", max(0, hit.start - _EXCEPTION_REACH), hit.end + 2, inside=False):
            # A word of the phrase itself ("up" in "beats me up") is no idiom: the exception must reach past it.
            overlaps = (
                cue.start < hit.end and cue.end > hit.start and not (hit.start <= cue.start and cue.end <= hit.end)
            )
            continues = cue.start >= hit.end and not self.text[hit.end : cue.start].strip()
            if overlaps or continues:
                return cue
        return None

    def _method(self, hit: Hit) -> Hit | None:
        """The nearest method or place named outside the phrase itself ("اشتريت حبل غسيل" names no method)."""
        near = self._cues("method", max(0, hit.start - _METHOD_REACH), hit.end + _METHOD_REACH)
        outside = [c for c in near if c.end <= hit.start or c.start >= hit.end]
        return min(outside, key=lambda c: abs(c.start - hit.start), default=None)

    # -- verdict --------------------------------------------------------------------------------------------------

    def _judge(self) -> list[_Judged]:
        judged = []
        for hit in self.hits:
            entry = self.index.entries[hit.item]
            if self._negated(hit) or self._set_aside(hit, entry) or not self._close_to_writer(hit, entry):
                continue
            tier = _BY_NAME[entry.tier]
            past = tier > Tier.DISTRESS and bool(self._cues("past", *self._window(self.clause_ends, hit)))
            judged.append(
                _Judged(
                    hit,
                    entry,
                    Tier.DISTRESS if past else tier,
                    self._about_other(hit, entry),
                    past,
                    self._exception(hit),
                )
            )
        firm = any(j.exception is None and j.tier >= Tier.CONCERN for j in judged)
        kept = []
        for j in judged:
            if j.exception is not None:
                owner = self.index.cues[j.exception.item].owner
                if owner or not (firm or self._method(j.hit)):
                    continue  # an idiom: "I could die of embarrassment"
            kept.append(j)
        return kept

    def _raised_by(self, j: _Judged) -> Hit | None:
        if j.tier != Tier.CONCERN or j.past:
            return None
        if j.entry.category in _RAISED_BY_METHOD:
            method = self._method(j.hit)
            if method is not None:
                return method
        if j.entry.intent:
            times = self._cues("time", *self._window(self.sentence_ends, j.hit))
            if times:
                return times[0]
        return None

    def detection(self) -> Detection:
        """The verdict, or a quiet one when nothing counted."""
        matches: list[Match] = []
        cues: dict[tuple[int, int], Match] = {}  # the method or time cues that raised a match, by span
        language = None
        best = Tier.NONE
        for j in self._judge() if self.hits else []:
            raised = self._raised_by(j)
            tier = Tier.URGENT if raised is not None else j.tier
            if tier > best:
                best, language = tier, j.entry.language
            span = self.mapped.span(j.hit.start, j.hit.end)
            matches.append(Match(j.entry.phrase, tier, j.entry.lexicon, span, j.about_other))
            if raised is not None:
                cue: Cue = self.index.cues[raised.item]
                cue_span = self.mapped.span(raised.start, raised.end)
                cues.setdefault(cue_span, Match(cue.phrase, Tier.URGENT, cue.lexicon, cue_span, j.about_other))
        # A cue inside a matched phrase ("tonight" in "kill myself tonight") adds nothing to the explanation.
        matches += [c for s, c in cues.items() if not any(m.span[0] <= s[0] and s[1] <= m.span[1] for m in matches)]
        if not matches:
            return _quiet(self.original)
        if len(matches) > _MAX_MATCHES:
            matches = sorted(matches, key=lambda m: (-m.tier, m.span))[:_MAX_MATCHES]
        matches.sort(key=lambda m: m.span)
        alerts = [m for m in matches if m.tier >= Tier.CONCERN]
        about_other = bool(alerts) and all(m.about_other for m in alerts)
        return Detection(best, tuple(matches), about_other, language)


class Detector:
    """Scans messages for crisis language with the shipped lexicons and the owner's additions."""

    def __init__(self, index: PhraseIndex) -> None:
        self._index = index
        self._candidates = index.has_candidates

    @classmethod
    def build(cls, settings: SafetySettings | None = None) -> Detector:
        """A detector over the shipped lexicons plus the owner's ``extra_phrases``, ``removed_phrases`` and
        ``exceptions`` (None: the shipped lexicons alone)."""
        if settings is None:
            return cls(PhraseIndex(shipped_lexicons()))
        extra = [Entry(r.phrase, r.tier, "config", r.language, "owner") for r in settings.extra_phrases]
        exceptions = [Cue(e.phrase, "exception", "config", e.language, owner=True) for e in settings.exceptions]
        return cls(PhraseIndex(shipped_lexicons(), extra, settings.removed_phrases, exceptions))

    @property
    def index(self) -> PhraseIndex:
        """The compiled phrases (for the owner's scan tool and the benchmark)."""
        return self._index

    @property
    def unknown_removals(self) -> tuple[str, ...]:
        """Owner's ``removed_phrases`` that matched no shipped phrase (worth a warning: probably a typo)."""
        return self._index.unknown_removals

    def scan(self, text: str) -> Detection:
        """Judge one message. Pure and thread-safe; never raises on any ``str``."""
        try:
            if not self._candidates(normalise(text)):
                return _quiet(text)
            return _Reading(self._index, text).detection()
        except Exception:  # a bug here must cost one verdict, never the message loop
            log.exception("safety scan failed on a message of %d characters", len(text))
            return _QUIET[None]
