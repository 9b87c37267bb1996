"""Normalisation: each transform, where it applies and where it must not, and spans back into the original text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.safety.normalise import _fold_token, _token_mapped, normalise, normalise_mapped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I Want To DIE", "i want to die"),  # casefold
        ("Straße", "strase"),  # casefold ß, then collapse
        ("ｋｉｌｌ", "ki"),  # NFKC fullwidth (and l = i, collapsed)
        ("𝐤𝐢𝐥𝐥 𝐦𝐲𝐬𝐞𝐥𝐟", "ki myseif"),  # NFKC mathematical letters
        ("kïll", "ki"),  # Latin accents stripped
        ("k\u0336i\u0336l\u0336l\u0336", "ki"),  # strike-through combining marks
    ],
)
def test_case_compatibility_and_latin_marks(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200b",  # zero-width space
        "\u200c",  # zero-width non-joiner
        "\u200d",  # zero-width joiner
        "\u00ad",  # soft hyphen
        "\u200e",  # left-to-right mark
        "\u200f",  # right-to-left mark
        "\u202a",  # LRE
        "\u202e",  # RLO
        "\u202c",  # PDF
        "\u2066",  # LRI
        "\u2069",  # PDI
        "\ufeff",  # BOM
        "\u180e",  # Mongolian vowel separator
        "\u2060",  # word joiner
        "\u061c",  # Arabic letter mark
        "\ufe0f",  # variation selector
        "\x00",  # a control character
    ],
)
def test_invisible_and_bidi_characters_are_removed(invisible: str) -> None:
    assert normalise(f"k{invisible}ill my{invisible}self") == normalise("kill myself")
    assert normalise(f"بدي م{invisible}وت") == normalise("بدي موت")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kіll", "ki"),  # Cyrillic і
        ("рills", "pis"),  # Cyrillic р
        ("ΚΙLL", "ki"),  # Greek capitals
        ("ᴋɪʟʟ", "ki"),  # small capitals
        ("🇰🇮🇱🇱", "ki"),  # regional indicators
    ],
)
def test_look_alike_letters_read_as_latin(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k1ll mys3lf", "ki myseif"),
        ("w4nt t0 d1e", "want to die"),
        ("$elf h@rm", "seif harm"),
        ("k|ll", "ki"),
        ("7ired", "tired"),
        ("k!ll", "ki"),  # ! between letters
        ("die!", "die!"),  # ... but a sentence's ! stays punctuation
    ],
)
def test_digits_and_symbols_as_letters(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k i l l  m y s e l f", "ki myseif"),  # a double space separates words
        ("k i l l m y s e l f", "kimyseif"),  # one word: matched by the phrase without spaces
        ("k.i.l.l m-y-s-e-l-f", "ki myseif"),
        ("k_i_l_l", "ki"),
        ("ا ن ت ح ر", "انتحر"),  # Arabic letters one by one too
        ("a b", "a b"),  # two letters are not spelling
        ("e.g. this", "e.g. this"),
    ],
)
def test_spaced_out_letters_are_joined(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("soooo", "so"), ("diiiiie", "die"), ("noooo!!!", "no!"), ("موووووت", "موت"), ("ههههههه", "ه")],
)
def test_stretched_letters_collapse(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_apostrophes_and_dashes() -> None:
    assert normalise("can’t") == normalise("cant") == normalise("can't")
    assert normalise("self-harm") == normalise("self harm") == normalise("self—harm")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("أُرِيدُ أَنْ أَمُوتَ", "اريد ان اموت"),  # harakat, tanween-free vowels, sukun
        ("مـــوت", "موت"),  # tatweel
        ("شدَّة", "شده"),  # shadda, ta marbuta
        ("إلى آخر ٱلليل", "الي اخر اليل"),  # alef forms, alef maqsura (and the doubled lam collapsed)
        ("مؤمن سئم", "مومن سيم"),  # hamza on waw and ya
        ("رحمٰن", "رحمن"),  # superscript alef
        ("ﻻ", "لا"),  # presentation form (NFKC)
    ],
)
def test_arabic_letter_variants_and_marks(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_arabic_indic_and_persian_digits_read_as_ascii() -> None:
    assert normalise("٣ ۳") == normalise("3 3")
    assert normalise("٠١٢٣٤٥٦٧٨٩") == normalise("0123456789")


def test_arabic_script_is_never_transliterated() -> None:
    folded = normalise("بدي موت يا جماعة")
    assert all(not ("a" <= char <= "z") for char in folded)


def test_arabizi_digits_are_folded_the_same_way_on_both_sides() -> None:
    # the Arabizi lexicon goes through this function too, so "3ayez" matches "3AYEZ" and "3ayyez" alike
    assert normalise("3ayez amoot") == normalise("3AYEZ AMOOOOT") == normalise("3ayyez amot")
    assert normalise("ente7er") != normalise("entehr")


def test_spans_point_into_the_original_text() -> None:
    text = "Honestly, I want to d\u200bi\u200biiie!"
    mapped = normalise_mapped(text)
    start = mapped.text.index("want to die")
    begin, end = mapped.span(start, start + len("want to die"))
    assert text[begin:end] == "want to d\u200bi\u200biiie"


def test_spans_after_removed_characters_and_spaced_letters() -> None:
    text = "\u202e\u200bok\u00ad so  k i l l  m y s e l f"
    mapped = normalise_mapped(text)
    start = mapped.text.index("ki myseif")
    begin, end = mapped.span(start, start + len("ki myseif"))
    assert text[begin:end] == "k i l l  m y s e l f"
    ok = mapped.text.index("ok")
    assert text[slice(*mapped.span(ok, ok + 2))] == "ok"


def test_spans_in_arabic_with_marks_and_tatweel() -> None:
    text = "يا ناس أُرِيـــدُ أَنْ أَمُوتَ الآن"
    mapped = normalise_mapped(text)
    start = mapped.text.index("اريد ان اموت")
    begin, end = mapped.span(start, start + len("اريد ان اموت"))
    assert text[begin:end] == "أُرِيـــدُ أَنْ أَمُوتَ"


def test_line_breaks_are_kept_as_sentence_ends() -> None:
    mapped = normalise_mapped("fine\nreally")
    assert mapped.text == "fine reaiy"
    assert mapped.line_breaks == frozenset({4})


_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(list("kil myself  !.-_*|1305@$ابتموتـَُ٣\u200b\u200d\u202e\u00ad\n")),
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_fast_path_equals_mapped_path(text: str) -> None:
    assert normalise(text) == normalise_mapped(text).text


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab!.-*k l1|é\u200bأ٣ـَ_,/ I")), min_size=1, max_size=14))
def test_token_fast_path_equals_character_path(text: str) -> None:
    for token in text.split():
        assert _fold_token(token) == "".join(_token_mapped(token)[0])


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_every_character_maps_inside_the_original(text: str) -> None:
    mapped = normalise_mapped(text)
    for index in range(len(mapped.text)):
        begin, end = mapped.span(index, index + 1)
        assert 0 <= begin <= end <= len(text)


def test_normalising_is_idempotent_on_its_own_output() -> None:
    for text in ("I want to DIIIIE", "k i l l  m y s e l f", "أُرِيـــدُ أَنْ أَمُوتَ", "3ayez amoot"):
        once = normalise(text)
        assert normalise(once) == once
