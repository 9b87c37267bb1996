"""Detection in context: tiers, denial, reported speech, the past, someone else, idioms, owner config, safety."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.safety import PhraseException, PhraseRule, SafetySettings
from bot.safety.detector import Detection, Detector, Match, Tier


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.build()


def test_tier_labels_and_order() -> None:
    assert [t.label for t in Tier] == ["none", "distress", "concern", "urgent"]
    assert Tier.URGENT > Tier.CONCERN > Tier.DISTRESS > Tier.NONE


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("I feel so alone lately", Tier.DISTRESS),
        ("i want to die", Tier.CONCERN),
        ("everyone would be better off without me", Tier.CONCERN),
        ("my dad hits me", Tier.CONCERN),
        ("I have the pills ready", Tier.URGENT),
        ("this is goodbye", Tier.URGENT),
        ("I took all the pills at once", Tier.URGENT),
        ("see you tomorrow!", Tier.NONE),
        ("kill", Tier.NONE),
        ("die", Tier.NONE),
    ],
)
def test_tiers(detector: Detector, text: str, tier: Tier) -> None:
    assert detector.scan(text).tier is tier


def test_a_match_names_phrase_lexicon_and_span(detector: Detector) -> None:
    text = "honestly... I want to d\u200biiie"
    detection = detector.scan(text)
    assert detection.language == "en"
    [match] = detection.matches
    assert (match.phrase, match.tier, match.lexicon) == ("want to die", Tier.CONCERN, "en")
    assert text[match.span[0] : match.span[1]] == "want to d\u200biiie"


def test_arabic_and_arabizi_matches(detector: Detector) -> None:
    arabic = detector.scan("والله تعبت، بدي مــوت")
    assert (arabic.tier, arabic.language, arabic.matches[0].lexicon) == (Tier.CONCERN, "ar", "ar")
    arabizi = detector.scan("ana 3ayez amoooot")
    assert (arabizi.tier, arabizi.language, arabizi.matches[0].lexicon) == (Tier.CONCERN, "ar", "ar-latn")


@pytest.mark.parametrize(
    "text",
    [
        "I'm not suicidal",
        "I would never kill myself",
        "I'm not going to hurt myself, promise",
        "I don't want to die",
        "مش عايز أموت",
        "ما بدي موت",
        "msh 3ayez amoot",
    ],
)
def test_explicit_denial(detector: Detector, text: str) -> None:
    assert detector.scan(text).tier is Tier.NONE


def test_a_negation_elsewhere_is_no_denial(detector: Detector) -> None:
    assert detector.scan("I don't know anymore, I want to die").tier is Tier.CONCERN
    assert detector.scan("I'm not kidding, I want to kill myself").tier is Tier.CONCERN
    assert detector.scan("why not just kill myself").tier is Tier.CONCERN


@pytest.mark.parametrize(
    "text",
    [
        "The article said the singer killed himself",
        "In the movie he kills himself at the end",
        "the main character wants to kill herself in season 2",
        "In the book, the character says 'I want to die'",
        "في المسلسل البطل قتل نفسه",
        "this boss fight makes me want to die lol",
        "I cut myself shaving",
    ],
)
def test_reported_fiction_games_and_accidents(detector: Detector, text: str) -> None:
    assert detector.scan(text).tier is Tier.NONE


def test_the_writer_after_the_news_still_counts(detector: Detector) -> None:
    assert detector.scan("after reading the news I want to die").tier is Tier.CONCERN


def test_the_past_is_lowered_to_distress(detector: Detector) -> None:
    for text in ("I used to self harm, years ago", "زمان كنت بجرح نفسي"):
        detection = detector.scan(text)
        assert detection.tier is Tier.DISTRESS
    assert detector.scan("I tried to kill myself last night").tier is Tier.CONCERN  # recent: not the past


@pytest.mark.parametrize(
    "text",
    [
        "my friend wants to kill herself",
        "my friend told me 'I want to kill myself'",
        "my brother has been self harming",
        "صاحبي عايز ينتحر",
        "sa7bi 3ayez yente7er",
    ],
)
def test_worry_about_someone_else(detector: Detector, text: str) -> None:
    detection = detector.scan(text)
    assert detection.tier >= Tier.CONCERN
    assert detection.about_other


def test_about_other_only_when_every_alert_is(detector: Detector) -> None:
    detection = detector.scan("my friend wants to kill herself and honestly I want to die too")
    assert detection.tier is Tier.CONCERN
    assert not detection.about_other
    assert detector.scan("my dad hits me").about_other is False  # a disclosure about the writer


@pytest.mark.parametrize(
    "text",
    [
        "this homework is killing me",
        "I could die of embarrassment",
        "that cake is to die for",
        "I'm dying to see you",
        "you're killing it",
        "i want to die laughing",
        "بموت فيك",
        "هموت من الضحك",
        "أموت في الشوكولاتة",
    ],
)
def test_idioms(detector: Detector, text: str) -> None:
    assert detector.scan(text).tier is Tier.NONE


def test_an_idiom_cancels_only_its_own_span(detector: Detector) -> None:
    detection = detector.scan("I want to die of embarrassment. Also I feel so alone")
    assert detection.tier is Tier.DISTRESS
    assert [m.phrase for m in detection.matches] == ["i feel so alone"]


def test_an_idiom_stands_with_a_method_or_a_second_phrase(detector: Detector) -> None:
    with_method = detector.scan("I want to die of embarrassment, I have pills")
    assert with_method.tier is Tier.URGENT
    second = detector.scan("I want to die laughing. no really, everyone would be better off without me")
    assert second.tier is Tier.CONCERN
    assert {m.phrase for m in second.matches} >= {"want to die", "better off without me"}


def test_method_and_time_raise_to_urgent(detector: Detector) -> None:
    method = detector.scan("I want to die. I have a knife")
    assert method.tier is Tier.URGENT
    assert [(m.phrase, m.tier) for m in method.matches] == [("want to die", Tier.URGENT), ("knife", Tier.URGENT)]
    assert detector.scan("I'm going to kill myself tonight").tier is Tier.URGENT
    assert detector.scan("بدي انتحر هلق").tier is Tier.URGENT
    assert detector.scan("I felt suicidal today").tier is Tier.CONCERN  # thoughts, not intent, with a time


def test_evasions(detector: Detector) -> None:
    for text in ("k i l l  m y s e l f", "k1ll mys3lf", "kіll myself", "#killmyself", "w\u00adant to d\u200bie"):
        assert detector.scan(text).tier is Tier.CONCERN, text
    for text in ("أُرِيـــدُ أَنْ أَمُوتَ", "ع ا ي ز  ا م و ت", "3AYEZ AMOOOOT"):
        assert detector.scan(text).tier is Tier.CONCERN, text


def test_explain_and_json_leave_out_the_message(detector: Detector) -> None:
    text = "My neighbour Zed said nothing, but I want to kill myself tonight"
    detection = detector.scan(text)
    explained = detection.explain()
    assert "tier=urgent" in explained
    assert "'kill myself tonight'" in explained
    assert "en:" in explained
    assert "Zed" not in explained
    assert "neighbour" not in explained
    payload = detection.to_json()
    assert payload["tier"] == "urgent"
    assert payload["language"] == "en"
    assert payload["about_other"] is False
    first = payload["matches"][0]  # type: ignore[index]
    assert set(first) == {"phrase", "tier", "lexicon", "span", "about_other"}
    assert isinstance(first["span"], list)


def test_quiet_detections_guess_the_language(detector: Detector) -> None:
    assert detector.scan("hello there").language == "en"
    assert detector.scan("صباح الخير").language == "ar"
    assert detector.scan("👍 123").language is None
    assert detector.scan("") == Detection(Tier.NONE, (), False, None)


def test_owner_adds_removes_and_excepts_phrases() -> None:
    settings = SafetySettings(
        extra_phrases=[
            PhraseRule(phrase="want to vanish for good", tier="concern", language="en"),
            PhraseRule(phrase="عايز أختفي للأبد", tier="urgent", language="ar"),
        ],
        removed_phrases=["i hate my life"],
        exceptions=[PhraseException(phrase="suicide squad", language="en")],
    )
    owned = Detector.build(settings)
    added = owned.scan("I want to vanish for good")
    assert added.tier is Tier.CONCERN
    assert added.matches == (Match("want to vanish for good", Tier.CONCERN, "config", (2, 25), False),)
    assert owned.scan("انا عايز اختفي للابد").tier is Tier.URGENT
    assert Detector.build().scan("i hate my life").tier is Tier.DISTRESS
    assert owned.scan("i hate my life").tier is Tier.NONE
    owner_exception = Detector.build(
        SafetySettings(
            extra_phrases=[PhraseRule(phrase="suicide squad", tier="concern", language="en")],
            exceptions=[PhraseException(phrase="the suicide squad movie", language="en")],
        )
    )
    assert owner_exception.scan("watching the suicide squad movie").tier is Tier.NONE
    assert owner_exception.scan("we are the suicide squad").tier is Tier.CONCERN
    assert owned.unknown_removals == ()
    assert Detector.build(SafetySettings(removed_phrases=["not a phrase"])).unknown_removals == ("not a phrase",)


_ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(),  # every category, surrogates and controls included
        st.sampled_from(list("kil myself want to die ! . 1 3 بدي موت انتحر ـ َ \u200b \u202e \n")),
    ),
    max_size=300,
)


_SHARED = Detector.build()


@settings(max_examples=300, deadline=None)
@given(_ANY_TEXT)
def test_scan_never_raises(text: str) -> None:
    detection = _SHARED.scan(text)
    assert isinstance(detection, Detection)
    for match in detection.matches:
        assert 0 <= match.span[0] < match.span[1] <= len(text)


def test_scan_never_raises_on_odd_and_huge_input(detector: Detector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    odd = [
        "\ud800kill myself\udfff",
        "\x00" * 1000,
        "".join(chr(c) for c in range(0, 0x3000)),
        "k i l l " * 20_000,
        "kill myself " * 10_000,
        "a" * 200_000,
        "\n" * 50_000,
        "بدي موت " * 10_000,
    ]
    for text in odd:
        assert isinstance(detector.scan(text), Detection)
    assert not [r for r in caplog.records if r.name.startswith("bot.safety")]  # no internal error was swallowed


def test_scan_is_thread_safe(detector: Detector) -> None:
    texts = [
        f"{prefix} {n}" for n in range(400) for prefix in ("I want to die", "k i l l  m y s e l f", "بدي موت", "hi")
    ]
    expected = [detector.scan(text) for text in texts]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(detector.scan, texts)) == expected
