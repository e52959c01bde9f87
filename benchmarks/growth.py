"""What grows with the years (issue 26, outcome 3): the knowledge agenda at 10,000 open questions, the coordinator's
overview over five years of questions (with the contact requests of a year, the meetings and the messages that
reached followers over five), and the Logboek at 100,000 entries — each timed as a request makes it.

    python -m benchmarks.growth [--open 10000] [--answered 20000] [--entries 100000] [--requests 3000]
                                [--meetings 1500] [--reached 20000]

The questions are written through the real code (``Questions.record``), asked over five years, in three
ateliers; their texts are real questions (the policyqa-sections' and the demo's) and their vectors are the real
model's for those texts, drawn around (noise, cosine ≈ 0.92: as many different questions as needed without a
model run each). A tenth of them carry a feedback mark (half "helped", half not). The Logboek's entries are
written through ``AuditLog.record_all``, a thousand at a time. Contact requests are kept a year
(``KM_CONTACT_RETENTION_DAYS``), so their number is a year's; meetings and "a follower was reached" records stay,
so theirs are five years'. Every figure is the median of the requests after a
first one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.latency import QUESTIONS
from benchmarks.sets import section_questions
from core.store.ledger import LEDGER
from core.store.types import Point
from service import audit
from service.container import Kennismakelaar
from service.coordinators import Actor
from service.follows import REACHED
from service.overview import overview, reached_per_month
from service.settings import Settings

HERE = Path(__file__).resolve().parent
WORK = HERE / ".data" / "growth"
ATELIERS = ("kansrijk-met-jeugd", "tweedeling-en-armoede", "veerkracht-in-gemeenschappen")


def timed(call: Callable[[], Any], runs: int = 5) -> dict[str, float]:
    started = time.perf_counter()
    call()  # the first: imports, caches
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {"first_ms": round(first, 1), "median_ms": round(statistics.median(times), 1)}


def fill(km: Kennismakelaar, n_open: int, n_answered: int, n_entries: int, n_requests: int = 0,
         n_meetings: int = 0, n_reached: int = 0) -> dict[str, float]:
    rng, nrng = random.Random(26), np.random.default_rng(26)
    texts = [q["question"] for q in section_questions()][:400] + QUESTIONS
    base = np.asarray([km.embedder.embed_query(t) for t in texts], np.float32)
    questions = km.broker().questions
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    marked: list[tuple[str, bool]] = []
    for i in range(n_open + n_answered):
        k = rng.randrange(len(texts))
        v = base[k] + nrng.normal(scale=0.02, size=base.shape[1]).astype(np.float32)
        answered = i >= n_open
        question_id = questions.record(
            texts[k], v / np.linalg.norm(v), atelier=ATELIERS[rng.randrange(3)], atelier_inferred=False,
            best_score=rng.uniform(0.86, 0.95) if answered else rng.uniform(0.78, 0.84), answered=answered,
            confidence=rng.uniform(0.5, 0.99), asked_at=now - dt.timedelta(days=rng.uniform(0, 5 * 365)))
        if i % 10 == 0:  # a tenth carry a feedback mark, half of them "helped"
            marked.append((question_id, i % 20 == 0))
    for question_id, helpful in marked:
        km.catalog().mark(question_id, "answer", question_id, helpful)
    written_q = time.perf_counter() - started
    started = time.perf_counter()
    log = km.audit()
    actors = [Actor(f"coordinator-{i}", f"Coördinator {i}") for i in range(6)]
    actions = sorted(audit.ACTIONS)
    for start in range(0, n_entries, 1000):
        log.record_all(actors[(start // 1000) % len(actors)],
                       [(actions[(start + j) % len(actions)], "document", f"doc-{start + j}")
                        for j in range(min(1000, n_entries - start))])
    written_e = time.perf_counter() - started
    started = time.perf_counter()
    catalog = km.catalog()

    def day(years: float) -> dt.datetime:
        return now - dt.timedelta(days=rng.uniform(0, years * 365))

    for i in range(n_requests):
        made = day(1)
        catalog.add_contact_request(f"r{i}", {
            "created_at": made.isoformat(), "atelier": ATELIERS[i % 3], "answered": i % 3 == 0,
            "status": ("nieuw", "verbonden", "afgerond")[i % 3],
            "verbonden_at": (made + dt.timedelta(days=rng.uniform(0, 9))).isoformat() if i % 3 else None})
    for i in range(n_meetings):
        catalog.add_meeting(f"m{i}", {"date": day(5).date().isoformat(), "status": ("gehouden", "gepland")[i % 5 == 0],
                                      "ateliers": [ATELIERS[i % 3]]})
    for start in range(0, n_reached, 1000):
        catalog.ledger.store.upsert(LEDGER, [Point(f"{REACHED}:bench-{start + j}", {
            "kind": REACHED, "key": f"bench-{start + j}", "follow_id": f"f{j}", "what": "question",
            "at": day(5).timestamp()}) for j in range(min(1000, n_reached - start))])
    return {"questions_write_s": round(written_q, 1), "entries_write_s": round(written_e, 1),
            "records_write_s": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--answered", type=int, default=20_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--meetings", type=int, default=1_500)
    parser.add_argument("--reached", type=int, default=20_000)
    args = parser.parse_args()
    data = WORK / (f"store-{args.open}-{args.answered}-{args.entries}-{args.requests}-{args.meetings}-"
                   f"{args.reached}")
    built = data / "built.json"
    if not built.exists():
        shutil.rmtree(data, ignore_errors=True)
        km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
        figures = fill(km, args.open, args.answered, args.entries, args.requests, args.meetings, args.reached)
        km.close()
        built.write_text(json.dumps(figures))
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
    km.warm_up()
    m = km.settings.matching
    broker = km.broker()
    oldest_shown = audit.search(km.audit(), km.coordinators(), limit=100).entries[-1].cursor
    rows = {
        f"agenda ({args.open:,} open of {args.open + args.answered:,})":
            timed(lambda: broker.agenda(threshold=m.answer_threshold, similarity=m.agenda_similarity), runs=3),
        f"overview, 5 years ({args.open + args.answered:,} questions), per month":
            timed(lambda: overview(km, period="maand"), runs=3),
        f"  of which: the contact requests read ({args.requests:,})": timed(lambda: km.catalog().contact_requests()),
        f"  of which: the meetings read ({args.meetings:,})": timed(lambda: km.catalog().meetings()),
        f"  of which: the messages that reached followers, counted per month ({args.reached:,})":
            timed(lambda: reached_per_month(km.catalog().ledger, None, None)),
        "  (those messages read one by one instead, as before)":
            timed(lambda: list(km.catalog().ledger.all(REACHED))),
        "overview, the last year": timed(lambda: overview(km, period="maand",
                                                          since=(dt.date.today() - dt.timedelta(days=365)).isoformat()),
                                         runs=3),
        f"Logboek, first page of 100 ({args.entries:,} entries)":
            timed(lambda: audit.search(km.audit(), km.coordinators(), limit=100)),
        "Logboek, one action, first page": timed(lambda: audit.search(km.audit(), km.coordinators(),
                                                                       action="document-verwijderd", limit=100)),
        "Logboek, the next page (before the last shown)": timed(lambda: audit.search(
            km.audit(), km.coordinators(), limit=100, before=oldest_shown)),
        f"API /api/audit, a page at offset {args.entries // 2:,}": timed(lambda: audit.search(
            km.audit(), km.coordinators(), limit=100, offset=args.entries // 2)),
    }
    print(json.dumps({"built": json.loads(built.read_text()), "rows": rows}, indent=1))
    km.close()


if __name__ == "__main__":
    main()
