"""Fairness of panel invitations: 20 simulated meetings on the demo corpus, composed by the real broker with
and without the memory of earlier panels, in the same run.

    python -m benchmarks.panel_fairness [--meetings 20] [--k 4] [--data DIR]

Each meeting takes one of a handful of recurring topics (the Werkplaats' agenda returns to the same subjects),
so without memory the best few people for a topic sit on every panel about it. Printed per variant: the
largest share of all seats held by one person, the number of different people invited, and the mean relevance
of the chosen members (as a share of the best candidate's score), so the price of spreading is visible.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from matching.panels import PanelConstraints, compose, recent_invitations
from service.container import Kennismakelaar
from service.settings import Settings

TOPICS = ["Hoe bereik je gezinnen die uit schaamte geen gebruik maken van minimaregelingen?",
          "Wat werkt om jongeren met schulden te helpen?",
          "Hoe werken wijkteams en scholen samen rond kinderen in armoede?",
          "Hoe versterk je de veerkracht van een wijk van onderop?",
          "Wat betekent verbindend leiderschap in het sociaal domein?"]


def simulate(km: Kennismakelaar, meetings: int, k: int, *, remember: bool) -> dict[str, Any]:
    broker = km.broker()
    candidates = {t: broker.experts(t, limit=max(30, 4 * k))[0] for t in TOPICS}
    history: list[dict[str, Any]] = []
    seats: Counter[str] = Counter()
    relevance: list[float] = []
    for n in range(meetings):
        pool = candidates[TOPICS[n % len(TOPICS)]]
        panel = compose(pool, k, PanelConstraints(), broker.taxonomy,
                        invitations=recent_invitations(history) if remember else None)
        members = [m.expert.id for m in panel.members]
        history.append({"date": f"2026-{1 + n // 28:02d}-{1 + n % 28:02d}", "panel": members})
        seats.update(members)
        top = max(c.score for c in pool)
        relevance += [m.expert.score / top for m in panel.members]
    total = sum(seats.values())
    return {"largest_share": round(max(seats.values()) / total, 3), "people_invited": len(seats),
            "seats": total, "mean_relevance": round(sum(relevance) / len(relevance), 3),
            "most_invited": seats.most_common(3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=20)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--data", type=Path, help="an ingested data folder (default: the demo corpus, ingested now)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp)
        km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
        if args.data is None:
            samples = Path(__file__).resolve().parents[1] / "samples"
            km.ingestor().run([samples / "documenten", samples / "experts"])
        try:
            out = {"meetings": args.meetings, "k": args.k,
                   "without_memory": simulate(km, args.meetings, args.k, remember=False),
                   "with_memory": simulate(km, args.meetings, args.k, remember=True)}
        finally:
            km.close()
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
