from core.models import Element
from ingestion.chunk import chunk_elements


def _doc():
    body = " ".join(f"Zin nummer {i} gaat over jongeren, schulden en vertrouwen in de wijk." for i in range(60))
    return [
        Element("Verslag", is_title=True, page=1),
        Element("Aanleiding", is_title=True, depth=1, page=1),
        Element("Korte inleiding over de vraag.", page=1),
        Element("Aanpak", is_title=True, depth=1, page=1),
        Element("Interviews", is_title=True, depth=2, page=2),
        Element(body, page=2),
        Element("Bevindingen", is_title=True, depth=1, page=3),
        Element("Schaamte is groot.", page=3),
    ]


def test_passages_fit_the_embedder_and_keep_their_section(e5):
    chunks = chunk_elements("d", "Verslag", _doc(), e5.token_count, target=120)
    assert all(e5.token_count(c.text) <= 180 for c in chunks)
    long = [c for c in chunks if c.section == ("Aanpak", "Interviews")]
    assert len(long) >= 3 and all(c.page == 2 for c in long)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[-1].text.endswith("Schaamte is groot.")


def test_a_tiny_section_is_not_a_passage_of_its_own(e5):
    chunks = chunk_elements("d", "Verslag", _doc(), e5.token_count, target=120)
    assert chunks[0].section == ("Aanleiding",)
    assert "Korte inleiding" in chunks[0].text and "Zin nummer 0" in chunks[0].text


def test_context_carries_title_and_section():
    chunk = chunk_elements("d", "Verslag armoede", [Element("Kop", is_title=True), Element("Tekst.")],
                           lambda t: len(t.split()), target=50)[0]
    assert chunk.context_text() == "Verslag armoede › Kop\nTekst."
    # a title that says nothing is no context (core.headings)
    chunk = chunk_elements("d", "Verslag X", [Element("Kop", is_title=True), Element("Tekst.")],
                           lambda t: len(t.split()), target=50)[0]
    assert chunk.context_text() == "Kop\nTekst."


def test_a_run_on_text_without_sentences_is_still_cut():
    words = " ".join(["woord"] * 1000)
    chunks = chunk_elements("d", "T", [Element(words)], lambda t: len(t.split()), target=100)
    assert len(chunks) >= 7 and all(len(c.text.split()) <= 150 for c in chunks)


def test_a_file_of_only_headings_still_gives_a_passage():
    chunks = chunk_elements("d", "T", [Element("Korte notitie over buurtkamers in Heerlen.", is_title=True)],
                            lambda t: len(t.split()), target=50)
    assert [c.text for c in chunks] == ["Korte notitie over buurtkamers in Heerlen."]
