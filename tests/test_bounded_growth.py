"""What grows with the years stays bounded (issue 26, outcome 3): the agenda and the overview count in the engine
and read only the newest questions they cluster — and give what reading everything gave.

The store is real (Qdrant Edge), the questions are written through ``Questions.record`` with vectors in a few
neighbourhoods (the ranking model is not the subject here), over five years, with every kind of judgement:
open, answered, kept before the judgement, closed by a meeting, and turned by feedback either way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

import matching.broker as broker_module
from core.store.catalog import QUESTIONS, SCHEMA_VERSION
from core.store.types import Point
from matching.agenda import build_agenda, is_open, timeline
from service.overview import aggregate, overview

ATELIERS = ("kansrijk-met-jeugd", "tweedeling-en-armoede", "veerkracht-in-gemeenschappen", None)


def _fill(km: Any, n: int = 240, seed: int = 5) -> list[str]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, 384))
    log = km.broker().questions
    start = dt.datetime(2021, 12, 1, tzinfo=dt.UTC)
    ids = []
    for i in range(n):
        v = centres[i % 12] + rng.normal(scale=0.15, size=384)
        kind = i % 5
        ids.append(log.record(f"Vraag {i} over onderwerp {i % 12}", v / np.linalg.norm(v),
                              atelier=ATELIERS[i % 4], atelier_inferred=False,
                              best_score=(0.80, 0.90, 0.82, 0.88, 0.83)[kind],
                              answered=(False, True, None, None, False)[kind],
                              confidence=0.6 if kind in (0, 1, 4) else None,
                              asked_at=start + dt.timedelta(days=int(i * 7.5))))
    catalog = km.catalog()
    catalog.close_questions(ids[3::17], "meeting:m1")
    for i, question_id in enumerate(ids[::11]):  # feedback turns some either way
        log.feedback(question_id, item_type="answer", item_id=question_id, helpful=bool(i % 2))
    return ids


@pytest.fixture
def grown(km_factory):
    km = km_factory()
    _fill(km)
    return km


def _everything(km: Any) -> list[dict[str, Any]]:
    return km.broker().questions.all(with_vectors=True)


def test_the_overview_counted_in_the_engine_is_the_overview_of_every_question(grown):
    m = grown.settings.matching
    catalog = grown.catalog()
    for period, atelier, since, until in (("maand", None, None, None), ("kwartaal", ATELIERS[1], None, None),
                                          ("jaar", None, "2023-03-01", "2025-06-30"),
                                          ("maand", ATELIERS[2], "2024-01-01", None)):
        bounded = overview(grown, period=period, atelier=atelier, since=since, until=until)
        full = aggregate(_everything(grown), catalog.contact_requests(), catalog.meetings(), period=period,
                         threshold=m.answer_threshold, similarity=m.agenda_similarity, atelier=atelier,
                         since=since, until=until)
        shown = [(b.period, b.questions, b.answered_well, b.answered_poorly) for b in bounded.buckets]
        assert shown == [(b.period, b.questions, b.answered_well, b.answered_poorly) for b in full.buckets]
        assert bounded.total.questions == full.total.questions > 0
        assert [t.representative for t in bounded.themes] == [t.representative for t in full.themes]


def test_the_agenda_clusters_the_newest_open_questions_and_counts_them_all(grown, monkeypatch):
    m = grown.settings.matching
    everything = _everything(grown)
    open_ = [q for q in everything if is_open(q, m.answer_threshold)]
    agenda = grown.broker().agenda(threshold=m.answer_threshold, similarity=m.agenda_similarity)
    # below the limit: exactly what clustering every question gave
    whole = build_agenda(everything, threshold=m.answer_threshold, similarity=m.agenda_similarity)
    assert agenda["open"] == len(open_) == agenda["clustered"] and agenda["questions"] == len(everything)
    assert sorted(map(sorted, (c["question_ids"] for c in agenda["clusters"]))) == \
        sorted(map(sorted, (c.question_ids for c in whole)))
    assert agenda["timeline"] == timeline(everything, m.answer_threshold)  # feedback included, as the clusters

    monkeypatch.setattr(broker_module, "AGENDA_CLUSTERED", 20)
    capped = grown.broker().agenda(threshold=m.answer_threshold, similarity=m.agenda_similarity)
    newest = sorted(open_, key=lambda q: q["asked_at"], reverse=True)[:20]
    assert capped["clustered"] == 20
    assert {i for c in capped["clusters"] for i in c["question_ids"]} == {q["question_id"] for q in newest}
    assert capped["open"] == len(open_)  # all of them counted, in the engine


def test_neither_reads_the_whole_question_log(grown, monkeypatch):
    """Every question point the store hands out is counted: the agenda and the overview take the newest they
    cluster (and the few that feedback turned), not the log."""
    m = grown.settings.matching
    store = grown.catalog().store
    handed: list[int] = []
    scroll, ordered, retrieve = store.scroll, store.ordered, store.retrieve

    def counted(call):
        def wrapper(name, *args, **kwargs):
            out = list(call(name, *args, **kwargs))
            if name == QUESTIONS:
                handed.append(len(out))
            return out
        return wrapper

    monkeypatch.setattr(store, "scroll", counted(scroll))
    monkeypatch.setattr(store, "ordered", counted(ordered))
    monkeypatch.setattr(store, "retrieve", counted(retrieve))
    monkeypatch.setattr(broker_module, "AGENDA_CLUSTERED", 30)
    monkeypatch.setattr(broker_module, "GAPS_CLUSTERED", 10)
    monkeypatch.setattr("service.overview.THEMES_CLUSTERED", 30)
    grown.broker().agenda(threshold=m.answer_threshold, similarity=m.agenda_similarity)
    overview(grown)
    marked = len({q["question_id"] for q in grown.catalog().marks()})
    assert sum(handed) <= 2 * 30 + marked + 30 + marked, handed  # of 240 questions, read twice over before


def test_a_store_of_before_gets_the_counted_fields_when_opened(km_factory, tmp_path):
    km = km_factory(tmp_path / "old")
    ids = _fill(km, n=30)
    store, catalog = km.catalog().store, km.catalog()
    expected = overview(km, period="jaar")
    stripped = [Point(h.id, {k: v for k, v in h.payload.items()
                             if k not in ("month", "judged", "closed", "month_atelier", "feedback")},
                      dense={"dense": h.dense}) for h in store.scroll(QUESTIONS, with_vectors=True)]
    store.upsert(QUESTIONS, stripped)
    meta = next(h for h in store.scroll("meta") if "schema" in h.payload)
    store.upsert("meta", [Point(meta.id, {**meta.payload, "schema": SCHEMA_VERSION - 1})])
    km.close()
    again = km_factory(tmp_path / "old")
    rows = [h.payload for h in again.catalog().store.scroll(QUESTIONS)]
    assert len(rows) == len(ids) and all({"month", "judged", "month_atelier"} <= set(r) for r in rows)
    assert sum(r.get("closed") == "ja" for r in rows) == len(ids[3::17])
    assert sum(r.get("feedback") in ("open", "answered") for r in rows) == len(ids[::11])
    assert catalog is not again.catalog()
    assert [(b.period, b.questions, b.answered_well) for b in overview(again, period="jaar").buckets] == \
        [(b.period, b.questions, b.answered_well) for b in expected.buckets]


def test_feedback_turns_a_question_in_the_counts_and_a_deleted_mark_turns_it_back(km_factory):
    km = km_factory()
    log, catalog = km.broker().questions, km.catalog()
    threshold = km.settings.matching.answer_threshold
    v = np.ones(384) / np.sqrt(384)
    asked = log.record("Wat helpt tegen schulden?", v, atelier=None, atelier_inferred=False, best_score=0.8,
                       answered=False, confidence=0.6)
    assert log.open_count(threshold) == 1
    catalog.mark(asked, "expert", "sanne-vossen", True)  # her answer helped: not open any more
    assert log.open_count(threshold) == 0 and log.open_recent(threshold, limit=10) == []
    catalog.delete_feedback_on("expert", "sanne-vossen")  # she was removed, her marks with her
    assert log.open_count(threshold) == 1 and [q["question_id"] for q in log.open_recent(threshold, limit=10)] == [
        asked]


def test_the_followers_reached_counted_a_month_at_a_time_are_every_message_in_the_window(grown):
    """The messages that reached a follower are counted per month in the engine; at the edges of a month and of
    the chosen days, every message lands in the bucket that reading all of them would put it in."""
    from core.store.ledger import LEDGER
    from service.follows import REACHED
    from service.overview import reached_per_month

    ledger = grown.catalog().ledger
    assert reached_per_month(ledger, None, None) == {}
    moments = [dt.datetime(2024, 1, 31, 23, 59, 59, 999000, tzinfo=dt.UTC), dt.datetime(2024, 2, 1, tzinfo=dt.UTC),
               dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC), dt.datetime(2024, 3, 15, 0, 0, 1, tzinfo=dt.UTC),
               dt.datetime(2024, 2, 29, 23, 59, 59, 999997, tzinfo=dt.UTC),  # 3 µs before a month and a day end
               dt.datetime(2024, 3, 15, 23, 59, 59, 999998, tzinfo=dt.UTC),
               dt.datetime(2025, 7, 4, 8, tzinfo=dt.UTC), dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.UTC)]
    rng = np.random.default_rng(3)
    moments += [dt.datetime(2022, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=float(s))
                for s in rng.uniform(0, 5 * 365 * 86400, 200)]
    ledger.store.upsert(LEDGER, [Point(f"{REACHED}:t{i}", {"kind": REACHED, "key": f"t{i}", "follow_id": "f",
                                                           "at": m.timestamp()}) for i, m in enumerate(moments)])
    ledger.put("follow", "not-a-message", {"state": "active"})  # another kind is not counted

    def by_reading(since, until):
        out: dict[str, int] = {}
        for m in moments:
            day = m.date().isoformat()
            if (since is None or day >= since) and (until is None or day <= until):
                out[m.strftime("%Y-%m")] = out.get(m.strftime("%Y-%m"), 0) + 1
        return out

    for since, until in ((None, None), ("2024-02-01", None), (None, "2024-01-31"), ("2024-01-31", "2024-02-29"),
                         ("2024-03-15", "2024-03-15"), ("2025-01-01", "2026-11-30"), ("2030-01-01", None),
                         (None, "2021-06-30"), ("2024-02-29", "2024-02-29")):
        assert reached_per_month(ledger, since, until) == by_reading(since, until), (since, until)
    whole = overview(grown, period="kwartaal")
    assert whole.total.followers_reached == len(moments)
    assert sum(b.followers_reached for b in whole.buckets) == len(moments)
    assert overview(grown, atelier="kansrijk-met-jeugd").total.followers_reached == 0
