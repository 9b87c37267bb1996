"""Crisis lexicons as data: loading the shipped YAML files, adding the owner's phrases, compiling the matchers.

Each file under ``bot/safety/lexicons/`` is one lexicon (``en``, ``ar``, ``ar-latn``)::

    lexicon: en               # the name a match reports
    language: en              # the language a reply should use
    groups:                   # crisis phrases, each group with one tier
      - tier: concern         # distress | concern | urgent
        category: suicidal    # optional: suicidal, self-harm, abuse, burden, goodbye, plan, attempt, ...
        intent: true          # optional: active intent, raised to urgent by a time cue ("tonight")
        other: true           # optional: about someone else ("wants to kill herself")
        phrases: [kill myself, ...]    # "(a|b|)" writes variants: "wish i (was never|wasn't) born"
    exceptions: [...]         # idioms that cancel the crisis phrase they overlap or continue
    cues:                     # context words read around a match (never alerts on their own)
      negation: [...]         # "never", "not": explicit denial right before a phrase
      ...

Phrases and cues are matched on the normalised text (:mod:`bot.safety.normalise`), each compiled through the same
function, with one Aho-Corasick automaton for crisis phrases (scanned for every message) and one for cues and
exceptions (scanned only when a crisis phrase matched).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import ahocorasick
import yaml

from bot.safety.normalise import Normalised, normalise

__all__ = [
    "CUE_KINDS",
    "Cue",
    "CueKind",
    "Entry",
    "Hit",
    "Lexicon",
    "LexiconError",
    "PhraseIndex",
    "TierName",
    "expand",
    "load_lexicon",
    "parse_lexicon",
    "shipped_lexicons",
]

TierName = Literal["distress", "concern", "urgent"]
CueKind = Literal[
    "exception",  # an idiom: cancels the crisis phrase it overlaps or directly continues
    "negation",  # explicit denial right before a phrase ("I would never ...")
    "anti_negation",  # a negation that is not a denial ("why not ...")
    "reported",  # news, fiction, songs: what is reported is not the writer's own crisis
    "context",  # games, sport, accidents: "I died on that boss", "cut myself shaving"
    "other_person",  # "my friend", "my sister": worry about someone else
    "reporting",  # "said", "told me": someone else's words follow
    "past",  # "years ago", "used to": a history, not a present crisis
    "method",  # a method or place named: raises concern to urgent
    "time",  # a time named ("tonight"): raises active intent to urgent
    "clause_break",  # "but", "and": the context of one clause ends
]
CUE_KINDS: tuple[str, ...] = get_args(CueKind)
# Words compared one by one rather than searched for: what may stand between a negation and the phrase it denies
# ("I would never EVER kill myself"), and the words of the writer speaking about themself.
_WORD_KINDS = ("filler", "first_person")
_TIERS: tuple[str, ...] = get_args(TierName)
_MIN_SINGLE_WORD = 6
_ARABIC_CLITICS = frozenset("وف")  # "and", "so": written joined to the next word


class LexiconError(ValueError):
    """A lexicon file that cannot be used, naming the file and the place of the problem."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One crisis phrase: the tier it signals, the lexicon it came from, and how context may read it."""

    phrase: str
    tier: TierName
    lexicon: str
    language: str
    category: str | None = None
    intent: bool = False
    other: bool = False


@dataclass(frozen=True, slots=True)
class Cue:
    """A context phrase or an exception; ``owner`` marks an exception from the owner's config (always cancels)."""

    phrase: str
    kind: CueKind
    lexicon: str
    language: str
    owner: bool = False


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The phrases, exceptions and cues of one language and script."""

    name: str
    language: str
    entries: tuple[Entry, ...]
    cues: tuple[Cue, ...]
    words: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hit:
    """A phrase found at [start, end) of the normalised text; ``item`` indexes entries or cues of the index."""

    start: int
    end: int
    item: int


def _problem(source: str, where: str, message: str) -> LexiconError:
    return LexiconError(f"{source}: {where}: {message}")


def _strings(value: Any, source: str, where: str) -> list[str]:
    if not isinstance(value, list):
        raise _problem(source, where, "expected a list of phrases")
    for number, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            # YAML reads a bare off, no, on or yes as a boolean: such a phrase must be quoted
            raise _problem(source, f"{where}[{number}]", f"expected a non-empty string, got {item!r} (quote it)")
    return [v.strip() for v in value]


_ALTERNATION = re.compile(r"\(([^()]*)\)")
_MAX_VARIANTS = 256


def expand(phrase: str) -> list[str]:
    """The phrases a pattern stands for: each ``(a|b|)`` group is one of its alternatives (possibly empty), so
    ``wish i (was never|wasn't) born`` is two phrases. Spaces are tidied after expansion."""
    variants = [phrase]
    while _ALTERNATION.search(variants[0]):
        variants = [
            v[: m.start()] + choice + v[m.end() :]
            for v in variants
            for m in [_ALTERNATION.search(v)]
            if m is not None
            for choice in m.group(1).split("|")
        ]
        if len(variants) > _MAX_VARIANTS:
            raise ValueError(f"{phrase!r} expands to more than {_MAX_VARIANTS} phrases")
    return list(dict.fromkeys(" ".join(v.split()) for v in variants))


def _flag(group: dict[str, Any], key: str, source: str, where: str) -> bool:
    value = group.get(key, False)
    if not isinstance(value, bool):
        raise _problem(source, f"{where}.{key}", "expected true or false")
    return value


def _expanded(pattern: str, source: str, where: str) -> list[str]:
    try:
        return expand(pattern)
    except ValueError as problem:
        raise _problem(source, where, str(problem)) from None


def parse_lexicon(data: Any, source: str) -> Lexicon:
    """Validate one lexicon document (already read from YAML); every problem names its place in ``source``."""
    if not isinstance(data, dict):
        raise _problem(source, "top", "expected a mapping")
    unknown = set(data) - {"lexicon", "language", "groups", "exceptions", "cues"}
    if unknown:
        raise _problem(source, "top", f"unknown keys {sorted(unknown)}")
    name, language = data.get("lexicon"), data.get("language")
    if not isinstance(name, str) or not isinstance(language, str) or language not in ("en", "ar"):
        raise _problem(source, "top", "needs lexicon (a name) and language (en or ar)")
    entries: list[Entry] = []
    for number, group in enumerate(data.get("groups") or []):
        where = f"groups[{number}]"
        if not isinstance(group, dict) or set(group) - {"tier", "category", "intent", "other", "phrases"}:
            raise _problem(source, where, "expected tier, phrases and optionally category, intent, other")
        tier = group.get("tier")
        if tier not in _TIERS:
            raise _problem(source, f"{where}.tier", f"{tier!r} is not one of {', '.join(_TIERS)}")
        category = group.get("category")
        if category is not None and not isinstance(category, str):
            raise _problem(source, f"{where}.category", "expected a string")
        intent, other = _flag(group, "intent", source, where), _flag(group, "other", source, where)
        for pattern in _strings(group.get("phrases"), source, f"{where}.phrases"):
            for phrase in _expanded(pattern, source, f"{where}.phrases"):
                if len(phrase.split()) < 2 and len(phrase) < _MIN_SINGLE_WORD:
                    raise _problem(source, f"{where}.phrases", f"{phrase!r}: a bare word under 6 letters")
                entries.append(Entry(phrase, tier, name, language, category, intent, other))
    exceptions = _strings(data.get("exceptions") or [], source, "exceptions")
    cues = [Cue(p, "exception", name, language) for e in exceptions for p in _expanded(e, source, "exceptions")]
    words: dict[str, frozenset[str]] = {}
    raw_cues = data.get("cues") or {}
    if not isinstance(raw_cues, dict):
        raise _problem(source, "cues", "expected a mapping of cue kind to phrases")
    for kind, phrases in raw_cues.items():
        if kind in _WORD_KINDS:
            words[kind] = frozenset(normalise(p) for p in _strings(phrases, source, f"cues.{kind}"))
        elif kind in CUE_KINDS and kind != "exception":
            patterns = _strings(phrases, source, f"cues.{kind}")
            cues.extend(Cue(p, kind, name, language) for e in patterns for p in _expanded(e, source, f"cues.{kind}"))
        else:
            raise _problem(source, f"cues.{kind}", f"unknown cue kind (known: {', '.join(CUE_KINDS + _WORD_KINDS)})")
    for phrase in [e.phrase for e in entries] + [c.phrase for c in cues]:
        if not normalise(phrase):
            raise _problem(source, "phrases", f"{phrase!r} is empty once normalised")
    return Lexicon(name, language, tuple(entries), tuple(cues), words)


def load_lexicon(path: Path) -> Lexicon:
    """Read and validate one lexicon file."""
    with path.open(encoding="utf-8") as handle:
        return parse_lexicon(yaml.safe_load(handle), str(path))


@lru_cache(maxsize=1)
def shipped_lexicons() -> tuple[Lexicon, ...]:
    """The lexicons packaged with the bot, by file name (read once per process)."""
    folder = resources.files("bot.safety").joinpath("lexicons")
    found = []
    for item in sorted(folder.iterdir(), key=lambda i: i.name):
        if item.name.endswith(".yaml"):
            found.append(parse_lexicon(yaml.safe_load(item.read_text(encoding="utf-8")), f"lexicons/{item.name}"))
    return tuple(found)


def _arabic_start(key: str) -> bool:
    return "\u0621" <= key[0] <= "\u064a"


def _bounded(nm: Normalised, start: int, end: int, arabic: bool) -> bool:
    """Whether [start, end) is a whole phrase: not the inside of a longer word (skill myself, grandiesel)."""
    text = nm.text
    left = start == 0 or not text[start - 1].isalnum()
    if not left and arabic and text[start - 1] in _ARABIC_CLITICS:
        left = start == 1 or not text[start - 2].isalnum()
    right = end == len(text) or not text[end].isalnum()
    if not (left and right) and nm.spaced:  # letters written one by one carry no word boundaries
        left = left or any(low < start < high for low, high in nm.spaced)
        right = right or any(low < end < high for low, high in nm.spaced)
    return left and right


class _Automaton:
    """Phrases keyed by normalised form: each key maps to (key length, ids of the items it stands for)."""

    def __init__(self, keyed: Iterable[tuple[str, int]]) -> None:
        ids: dict[str, list[int]] = {}
        for key, item in keyed:
            ids.setdefault(key, [])
            if item not in ids[key]:
                ids[key].append(item)
        self.automaton = ahocorasick.Automaton()
        for key, items in ids.items():
            self.automaton.add_word(key, (len(key), tuple(items), _arabic_start(key)))
        self.empty = not ids
        if not self.empty:
            self.automaton.make_automaton()

    def hits(self, nm: Normalised) -> list[Hit]:
        if self.empty:
            return []
        found: list[Hit] = []
        for last, (length, items, arabic) in self.automaton.iter(nm.text):
            start, end = last + 1 - length, last + 1
            if _bounded(nm, start, end, arabic):
                found.extend(Hit(start, end, item) for item in items)
        return found


def _keys(phrase: str) -> set[str]:
    """The normalised forms of a phrase: as written, and without spaces (k i l l m y s e l f, #killmyself)."""
    keys = {normalise(phrase)}
    if len(phrase.split()) > 1:
        keys.add(normalise("".join(phrase.split())))
    return keys - {""}


class PhraseIndex:
    """The compiled matchers for a set of lexicons plus the owner's additions and removals."""

    def __init__(
        self,
        lexicons: Sequence[Lexicon],
        extra: Sequence[Entry] = (),
        removed: Sequence[str] = (),
        exceptions: Sequence[Cue] = (),
    ) -> None:
        removed_keys = {normalise(p): p for p in removed}
        shipped = [e for lexicon in lexicons for e in lexicon.entries]
        kept = [e for e in shipped if normalise(e.phrase) not in removed_keys]
        known = {normalise(e.phrase) for e in shipped}
        self.unknown_removals: tuple[str, ...] = tuple(p for k, p in removed_keys.items() if k not in known)
        self.entries: tuple[Entry, ...] = (*kept, *(e for e in extra if normalise(e.phrase)))
        self.cues: tuple[Cue, ...] = (
            *(c for lexicon in lexicons for c in lexicon.cues),
            *(c for c in exceptions if normalise(c.phrase)),
        )
        self.words: dict[str, frozenset[str]] = {
            kind: frozenset().union(*(lexicon.words.get(kind, frozenset()) for lexicon in lexicons))
            for kind in _WORD_KINDS
        }
        self._crisis = _Automaton((key, i) for i, e in enumerate(self.entries) for key in _keys(e.phrase))
        self._cues = _Automaton((normalise(c.phrase), i) for i, c in enumerate(self.cues))

    def has_candidates(self, folded: str) -> bool:
        """Whether any crisis phrase occurs in ``folded`` (word boundaries not yet checked): the fast path."""
        if self._crisis.empty:
            return False
        return next(self._crisis.automaton.iter(folded), None) is not None

    def crisis_hits(self, nm: Normalised) -> list[Hit]:
        """Crisis phrases found as whole words; ``Hit.item`` indexes :attr:`entries`."""
        return self._crisis.hits(nm)

    def cue_hits(self, nm: Normalised) -> list[Hit]:
        """Cues and exceptions found as whole words; ``Hit.item`` indexes :attr:`cues`."""
        return self._cues.hits(nm)

    @property
    def automaton(self) -> Any:
        """The crisis-phrase automaton itself (the benchmark's baseline scans with it alone)."""
        return self._crisis.automaton
