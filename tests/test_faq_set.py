"""The debian-faq evaluation set (``benchmarks/faq_set.py``): its parser's example, and the shape of the set built
from the real pages. ``benchmarks`` is outside the doctest paths, so its doctest runs here."""

from __future__ import annotations

import doctest

from benchmarks import faq_set as module
from benchmarks.faq_set import faq_set


def test_the_parser_example_holds():
    result = doctest.testmod(module)
    assert result.attempted and not result.failed


def test_every_numbered_section_and_question_is_there():
    sections, questions = faq_set()
    ids = [s["id"] for s in sections]
    assert len(ids) == len(set(ids)) == 147  # 148 numbered sections; 8.1.6 only introduces 8.1.6.1
    assert len(questions) == 123
    assert {"debian-faq-3-1", "debian-faq-3-1-1", "debian-faq-8-1-6-1", "debian-faq-16-4"} <= set(ids)
    assert all(q["relevant"][0] in set(ids) and len(q["relevant"]) == 1 for q in questions)


def test_a_section_is_its_answer_only():
    sections, questions = faq_set()
    by_id = {s["id"]: s for s in sections}
    pkg = by_id["debian-faq-7-1"]
    assert pkg["chapter"] == "Grondbeginselen van het pakketbeheersysteem van Debian"
    assert pkg["heading"] == "Wat is een Debian-pakket?"
    assert pkg["text"].startswith("Pakketten bevatten over het algemeen")
    # the parent's text stops where its first subsection begins
    assert "Wat moet ik doen" not in by_id["debian-faq-3-1"]["text"]
    assert by_id["debian-faq-3-1-1"]["text"].startswith("Probeer met een zoekmachine")
    # a footnote joins the section that refers to it
    assert "Toen het huidige sid nog niet bestond" in by_id["debian-faq-6-3"]["text"]
    for q in questions:
        assert "\n" not in q["question"] and not q["question"][0].isdigit()
        # neither the own heading nor another section's (through a cross-reference) is in any text
        assert all(q["question"] not in s["text"] for s in sections)
