"""The answer page's memory of answers just computed: bounded, and void once the store changes."""

from web.recent import RecentAnswers


def test_an_answer_is_remembered_only_while_the_store_is_unchanged():
    recent = RecentAnswers(size=2)
    recent.put("q1", (3, 7), "antwoord 1")
    assert recent.get("q1", (3, 7)) == "antwoord 1"
    assert recent.get("q1", (4, 7)) is None  # a write (say, a person removed) since: compute afresh
    assert recent.get("q1", (3, 8)) is None  # a minute on: another process may have written
    assert recent.get("onbekend", (3, 7)) is None


def test_the_oldest_answers_make_room():
    recent = RecentAnswers(size=2)
    for key in ("a", "b", "c"):
        recent.put(key, 0, key.upper())
    assert [recent.get(k, 0) for k in ("a", "b", "c")] == [None, "B", "C"]
