"""Names with apostrophes, particles, hyphens and accents (composed or not) are keyed and redacted alike.

Review 2026-12, finding 5: "Kees 't Hart", "Ilse d'Hondt", "Sean O’Brien" and an NFD "Zoë Janssen" were never
redacted, because ``name_key`` and ``redact`` cut a text into words differently.
"""

from __future__ import annotations

import unicodedata
from types import SimpleNamespace
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.names import REDACTED, name_key, name_variants, redact

Form = Literal["NFC", "NFD"]
FORMS: list[Form] = ["NFC", "NFD"]
APOSTROPHES = ["'", "\u2019", "\u2018", "`"]

FIRST_NAMES = ["Anna", "Kees", "Ilse", "Sean", "Zoë", "Noël", "Chloé", "Inès", "Joëlle", "Sèverine", "Ümit",
               "Anne-Marie", "Jan-Willem", "Mohamed", "Ĳsbrand", "Ruud", "Françoise", "Bülent"]
PARTICLES = ["", "van", "de", "den", "ter", "van der", "van den", "van de", "op de", "'t", "in 't", "van 't", "d'"]
SURNAMES = ["Hart", "Hondt", "O'Brien", "Vries", "Janssen", "Jansen-de Wit", "Heijden", "Müller", "Çelik",
            "El Amrani", "Ørsted", "Hoëvenaars", "Mol-d'Hooghe", "Dijk", "Brouwer"]
# words around a name; none is a part of a generated name, so what is left after redaction is exactly this
FILLER = ["gesprek", "met", "over", "schulden", "vertelde", "huisbezoeken", "bij", "energiearmoede", "volgende",
          "keer", "leidt", "het", "wijkteam", "en", "ook", "zei", "dat", "jongeren", "armoede", "artikel", "12"]
TEMPLATES = ["{} {}", "{} {}.", "({}) {}", "'{}' {}", "\u201c{}\u201d, {}", "{}: {}", "{} - {}", "{}, {}", "{}\n{}"]


def written(name: str, apostrophe: str, case: str, form: Form) -> str:
    """``name`` as a text may hold it: another apostrophe, another case, composed or decomposed accents."""
    name = name.replace("'", apostrophe)
    name = {"same": name, "upper": name.upper(), "lower": name.lower(), "title": name.title()}[case]
    return unicodedata.normalize(form, name)


def marked_for(name: str) -> set[str]:
    """The keys a removal marks for a person (``ingestion.removal.person_keys``, without id and e-mail)."""
    return {name_key(name), *name_variants(name)}


@st.composite
def dutch_names(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from(FIRST_NAMES))
    particle = draw(st.sampled_from(PARTICLES))
    surname = draw(st.sampled_from(SURNAMES))
    if particle.endswith("'") and not particle.endswith(" '"):
        return f"{first} {particle}{surname}"  # d'Hondt
    return " ".join(p for p in (first, particle, surname) if p)


Spelling = tuple[str, str, Form]  # apostrophe, case, normal form
spellings = st.tuples(st.sampled_from(APOSTROPHES), st.sampled_from(["same", "upper", "lower", "title"]),
                      st.sampled_from(FORMS))


@settings(max_examples=300, deadline=None)
@given(dutch_names(), spellings, spellings)
def test_key_is_the_same_for_every_spelling(name: str, one: Spelling, other: Spelling) -> None:
    assert name_key(written(name, *one)) == name_key(written(name, *other)) == name_key(name)
    assert name_variants(written(name, *one)) == name_variants(name)


@settings(max_examples=300, deadline=None)
@given(dutch_names(), st.lists(st.tuples(spellings, st.sampled_from(TEMPLATES), st.sampled_from(FILLER)),
                               min_size=1, max_size=4),
       st.lists(st.sampled_from(FILLER), min_size=0, max_size=4), st.sampled_from(FORMS))
def test_every_occurrence_is_redacted(name: str, occurrences: list[tuple[Spelling, str, str]],
                                      opening: list[str], text_form: Form) -> None:
    text, expected = " ".join(opening), " ".join(opening)
    for spelling, template, word in occurrences:
        text += " " + template.format(written(name, *spelling), word) + " "
        expected += " " + template.format(REDACTED, word) + " "
    text = unicodedata.normalize(text_form, text)
    marked = marked_for(name)

    redacted, n = redact(text, marked.__contains__)

    assert (redacted, n) == (unicodedata.normalize("NFC", expected), len(occurrences))


@settings(max_examples=200, deadline=None)
@given(dutch_names(), spellings)
def test_a_name_alone_is_redacted_whole(name: str, spelling: Spelling) -> None:
    assert redact(written(name, *spelling), marked_for(name).__contains__) == (REDACTED, 1)


@settings(max_examples=200, deadline=None)
@given(dutch_names(), st.lists(st.sampled_from(FILLER), min_size=1, max_size=8), st.sampled_from(FORMS))
def test_a_text_without_the_name_is_left_as_it_was(name: str, words: list[str], form: Form) -> None:
    text = unicodedata.normalize(form, " ".join(words) + " Zoë en Noël.")
    assert redact(text, marked_for(name).__contains__) == (text, 0)


REVIEW_NAMES = ["Kees 't Hart", "Ilse d'Hondt", "Sean O\u2019Brien", "Zo\u00eb Janssen"]


@pytest.mark.parametrize("name", REVIEW_NAMES)
@pytest.mark.parametrize("form", FORMS)
def test_the_names_of_the_review_are_redacted(name: str, form: Form) -> None:
    text = unicodedata.normalize(form, f"Gesprek met {name} over schulden.")
    assert redact(text, marked_for(name).__contains__) == (f"Gesprek met {REDACTED} over schulden.", 1)


def test_the_apostrophe_spellings_share_a_key() -> None:
    assert name_key("Sean O'Brien") == name_key("Sean O\u2019Brien") == name_key("sean-o-brien") == "sean o brien"
    assert name_key("Kees 't Hart") == name_key("Kees \u2018t Hart") == name_key("kees-t-hart") == "kees t hart"
    assert name_key("Ilse d'Hondt") == name_key("Ilse d`Hondt") == "ilse d hondt"
    assert name_key("Zoe\u0308 Janssen") == name_key("Zo\u00eb Janssen") == "zoe janssen"
    assert name_key("Jansen\u2010de Wit") == name_key("Jansen-de Wit") == "jansen de wit"


def test_ordinary_names_keep_their_keys() -> None:
    assert name_key("Sànne  Vossen") == name_key("sanne-vossen") == "sanne vossen"
    assert name_key("Anna de Vries") == name_key("anna_de.vries") == "anna de vries"
    assert name_key("") == ""
    assert sorted(name_variants("Anna de Vries")) == ["a de vries", "anna de vries"]


def test_an_initial_and_the_surname_with_its_particle_are_redacted() -> None:
    marked = marked_for("Kees 't Hart") | marked_for("Ilse d'Hondt")
    assert redact("K. \u2019t Hart en I. D\u2019HONDT", marked.__contains__) == (f"{REDACTED} en {REDACTED}", 2)


def test_one_word_is_never_a_name() -> None:
    # a first name alone, or a surname alone, stays, even if someone's key is one word
    assert redact("Kees vertelde, en Hart ook; artikel 1.", {"kees", "hart", "1"}.__contains__) == (
        "Kees vertelde, en Hart ook; artikel 1.", 0)


def test_words_of_other_sentences_are_not_joined_across_other_punctuation() -> None:
    marked = marked_for("Anna de Vries")
    assert redact("Anna (de) Vries; Anna, de Vries", marked.__contains__)[1] == 0


def test_parsed_texts_are_in_nfc() -> None:
    from ingestion.parse import _elements

    class NarrativeText(SimpleNamespace):
        pass

    item = NarrativeText(text="Zoe\u0308  Janssen vertelde", metadata=SimpleNamespace(category_depth=0))
    [element] = _elements([item])
    assert element.text == "Zo\u00eb Janssen vertelde"
