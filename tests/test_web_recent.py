"""The answer page's memory of answers just computed: bounded, void once the store changes, and kept apart
per audience (what a coordinator's answer holds is never shown through a link to someone else)."""

from core.visibility import COORDINATORS, PUBLIC, member
from web.recent import RecentAnswers

ALL = COORDINATORS.key


def test_an_answer_is_remembered_only_while_the_store_is_unchanged():
    recent = RecentAnswers(size=2)
    recent.put("q1", (3, 7), "antwoord 1", ALL)
    assert recent.get("q1", (3, 7), ALL) == "antwoord 1"
    assert recent.get("q1", (4, 7), ALL) is None  # a write (say, a person removed) since: compute afresh
    assert recent.get("q1", (3, 8), ALL) is None  # a minute on: another process may have written
    assert recent.get("onbekend", (3, 7), ALL) is None


def test_an_answer_is_remembered_for_the_audience_it_was_computed_for():
    recent = RecentAnswers(size=4)
    recent.put("q1", 0, "met interne verslagen", ALL)
    audiences = [PUBLIC.key, member({"kansrijk-met-jeugd"}).key, member().key]
    assert [recent.get("q1", 0, a) for a in audiences] == [None, None, None]
    assert recent.get("q1", 0, ALL) == "met interne verslagen"


def test_the_oldest_answers_make_room():
    recent = RecentAnswers(size=2)
    for key in ("a", "b", "c"):
        recent.put(key, 0, key.upper(), ALL)
    assert [recent.get(k, 0, ALL) for k in ("a", "b", "c")] == [None, "B", "C"]
