"""Crisis-detection speed: the full detector beside a baseline, over a mixed English and Arabic chat corpus.

Run ``python -m bench.bench_detection`` (or ``python bench/bench_detection.py``). It builds 100,000 chat messages of
10 to 400 characters deterministically (a seeded RNG over word lists, with some lexicon phrases, idioms, names,
numbers and emoji mixed in), pins itself to one CPU where the platform allows, and prints messages per second and
microseconds per message for:

- the baseline: normalisation plus a single pass of the crisis-phrase automaton, with no rules logic;
- the full detector (``Detector.scan``): the same, plus reading context whenever a phrase matched.

Each is timed over several rounds, alternating, and the best round is kept. Targets: at least 50,000 messages per
second, and within 3x of the baseline. A last section times single pathological 100 KB messages. This prints
figures, including how the time grows when a worst case doubles in length (linear: about x2); it is not a
test, because timings flake on shared machines.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.safety.detector import Detector, Tier
from bot.safety.normalise import normalise

__all__ = ["build_corpus", "main"]

MESSAGES = 100_000
SEED = 20_240_601
ROUNDS = 3
TARGET_RATE = 50_000
TARGET_RATIO = 3.0

_EN_TEXT = (
    "i you we they it the a an and but so because if when then just really very so much too not never "
    "always today tonight tomorrow yesterday week weekend morning night time day work school class exam "
    "homework meeting game match team friend friends mom dad sister brother family cat dog coffee tea "
    "food pizza movie music song show episode book group circle session support thanks thank please "
    "sorry okay ok yeah yes no lol lmao haha omg tbh ngl idk btw is are was were be been have has had do "
    "did does can could would should will want need feel feeling think know see go going come get got "
    "make made take took give say said tell good great nice fine bad tired happy sad stressed anxious "
    "busy late early new old long short little big again still maybe anyone everyone someone something "
    "anything nothing here there this that what how why who where hope love like hate miss help talk "
    "listen share check in next last first "
)
EN_WORDS = _EN_TEXT.split()  # a word list kept readable as text
_AR_TEXT = (
    "أنا انت احنا هو هي هم في على من إلى مع عن بس كمان والله يعني طيب تمام ماشي أيوه لا اه النهارده بكرة "
    "امبارح الأسبوع الشغل المدرسة الجامعة الامتحان الواجب الاجتماع الجلسة الحلقة الدائرة صاحبي صاحبتي "
    "أمي أبويا أختي أخويا البيت القهوة الشاي الأكل الفيلم الأغنية الماتش شكرا لو سمحت آسف معلش حلو جميل "
    "كويس تعبان مبسوط زعلان متوتر مشغول جديد قديم كتير شوية دايما أحيانا ليه إزاي مين فين إيه عايز بدي "
    "ابي حابب بحب بكره بفكر بقول قلت شفت رحت جيت هروح هاجي نتكلم نسمع نشارك مرحبا صباح الخير مساء النور "
    "الحمد لله إن شاء الله يا جماعة يا شباب حد عنده فكرة مين جاي الساعة كام "
)
AR_WORDS = _AR_TEXT.split()  # a word list kept readable as text
_ARABIZI_TEXT = "ana enta e7na howa heya ya3ni tayeb tamam mashi aywa la2 el naharda bokra shoghl gam3a "
ARABIZI_WORDS = _ARABIZI_TEXT.split()  # a word list kept readable as text
EN_PHRASES = (
    "i want to die",
    "i feel so alone",
    "everyone would be better off without me",
    "i'm not suicidal",
    "this homework is killing me",
    "in the movie he killed himself",
    "i used to self harm years ago",
    "my friend wants to kill herself",
    "k i l l  m y s e l f",
    "i have the pills ready",
)
AR_PHRASES = (
    "بدي موت",
    "أنا وحيدة جدا",
    "مش عايز أموت",
    "بموت فيك",
    "بفكر في الانتحار",
    "صاحبي عايز ينتحر",
    "هموت من الضحك",
    "3ayez amoot",
    "الليلة هنتحر",
)
EMOJI = ("😂", "❤️", "🙏", "😭", "👍", "🔥", "✨", "😅")


def _noise(rng: random.Random) -> str:
    """A token the caches have probably not seen: a number, a handle, a link, an emoji."""
    kind = rng.randrange(4)
    if kind == 0:
        return str(rng.randrange(1, 100_000))
    if kind == 1:
        return f"@user{rng.randrange(1_000_000)}"
    if kind == 2:
        return f"https://example.org/{rng.randrange(16**6):06x}"
    return rng.choice(EMOJI)


def build_corpus(count: int = MESSAGES, seed: int = SEED) -> list[str]:
    """``count`` chat messages, 10 to 400 characters, about 60% English and 40% Arabic (some in Arabizi); about
    3% carry a lexicon phrase (crisis, idiom, denial, news, third person) so that the rules path runs too."""
    rng = random.Random(seed)
    messages = []
    for _ in range(count):
        arabic = rng.random() < 0.4
        words = (ARABIZI_WORDS if rng.random() < 0.15 else AR_WORDS) if arabic else EN_WORDS
        target = rng.randint(10, 400)
        parts: list[str] = []
        length = 0
        if rng.random() < 0.03:
            phrase = rng.choice(AR_PHRASES if arabic else EN_PHRASES)
            parts.append(phrase)
            length += len(phrase) + 1
        while length < target:
            token = _noise(rng) if rng.random() < 0.03 else rng.choice(words)
            if rng.random() < 0.08:
                token += rng.choice(".,!?") if not arabic else rng.choice("،.!؟")
            parts.append(token)
            length += len(token) + 1
        rng.shuffle(parts)
        text = " ".join(parts)[:target].strip()
        messages.append(text if len(text) >= 10 else text.ljust(10, "!"))
    return messages


def _time(run: Callable[[str], object], corpus: Sequence[str]) -> float:
    started = time.perf_counter()
    for message in corpus:
        run(message)
    return time.perf_counter() - started


def _pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (one Python thread: one core)"


def main() -> int:
    """Build the corpus, time baseline and detector, print the figures; exit 0 (figures, not a verdict)."""
    pinned = _pin_one_core()
    corpus = build_corpus()
    chars = sum(map(len, corpus))
    detector = Detector.build()
    automaton = detector.index.automaton

    def baseline(message: str) -> None:
        for _ in automaton.iter(normalise(message)):
            pass

    cold = _time(detector.scan, corpus)  # first pass fills the token and character caches
    tiers = Counter(detector.scan(m).tier for m in corpus)
    best_base = best_full = float("inf")
    for _ in range(ROUNDS):
        best_base = min(best_base, _time(baseline, corpus))
        best_full = min(best_full, _time(detector.scan, corpus))

    count = len(corpus)
    print(f"corpus: {count:,} messages, {chars / count:.0f} characters on average, {pinned}")
    print("tiers:", ", ".join(f"{tier.label} {tiers.get(tier, 0):,}" for tier in Tier))
    print(f"{'':<34}{'msg/s':>12}{'us/msg':>10}")
    print(f"{'baseline (normalise + automaton)':<34}{count / best_base:>12,.0f}{best_base / count * 1e6:>10.2f}")
    print(f"{'detector (Detector.scan)':<34}{count / best_full:>12,.0f}{best_full / count * 1e6:>10.2f}")
    print(f"{'detector, first pass (cold cache)':<34}{count / cold:>12,.0f}{cold / count * 1e6:>10.2f}")
    ratio = best_full / best_base
    rate = count / best_full
    print(f"ratio detector/baseline: {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x: {'met' if ratio <= 3 else 'MISSED'})")
    print(f"rate: {rate:,.0f} msg/s (target >= {TARGET_RATE:,}: {'met' if rate >= TARGET_RATE else 'MISSED'})")

    print("worst cases, one message each:")
    rng = random.Random(SEED)
    cases = {
        "100 KB of one letter": "a" * 100_000,
        "100 KB of 'kill myself '": "kill myself " * 8_334,
        "100 KB of spaced letters": "k i l l " * 12_500,
        "100 KB of digits and symbols": "1!$@|" * 20_000,
        "100 KB of Arabic with marks": "أَمُوتُ بِدِّي " * 6_667,
        "100 KB of invisible characters": "\u200b\u200d\u202e\u00ad" * 25_000,
        "100 KB of unique words": " ".join(f"w{rng.randrange(10**9)}" for _ in range(9_100)),
    }
    for name, text in cases.items():
        started = time.perf_counter()
        verdict = detector.scan(text)
        elapsed = time.perf_counter() - started
        # Linear time: scanning the message twice over should take about twice as long, never four times.
        started = time.perf_counter()
        detector.scan(text + text)
        doubled = (time.perf_counter() - started) / max(elapsed, 1e-9)
        print(f"  {name:<34}{elapsed * 1e3:>9.1f} ms  tier={verdict.tier.label:<8}  doubled length: x{doubled:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
