"""The three kinds of knowledge on the demo corpus: how often the inferred kind agrees with the labelled one,
how many answers to realistic questions show all three, and whether the evidence boost costs ranking quality.

    python -m benchmarks.knowledge [--data DIR]

Without ``--data`` the demo corpus (``samples/``) is ingested into a fresh store first. Agreement: every
document whose metadata names its knowledge is inferred again as if it did not (from its kind, its authors'
roles and its text), and compared per kind and as a whole set. The questions are the ones a member of the
Werkplaats would ask (``QUESTIONS`` below, written for the corpus's subjects, not for its documents). The
boost: the planted questions of ``tests/test_samples.py`` ranked with the boost off and on, in the same run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from core.knowledge import KNOWLEDGE
from ingestion.knowledge import infer_knowledge
from service.container import Kennismakelaar
from service.settings import Settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
QUESTIONS = [
    "Hoe bereik je gezinnen die uit schaamte geen hulp vragen bij geldzorgen?",
    "Wat helpt jongeren die opgroeien in een gezin met schulden?",
    "Hoe herstel je vertrouwen van bewoners in instanties?",
    "Wat werkt tegen eenzaamheid in een oude mijnwerkerswijk?",
    "Hoe pak je energiearmoede aan bij huurders?",
    "Wat kunnen ervaringsdeskundigen betekenen in een wijkteam?",
    "Hoe voorkom je dat jongeren in de jeugdhulp steeds een nieuwe hulpverlener krijgen?",
    "Hoe signaleer je betalingsachterstanden vroeg?",
    "Waarom maken mensen geen gebruik van minimaregelingen?",
    "Hoe begeleid je een gezin met een stapel ongeopende post?",
    "Wat betekent een vaste contactpersoon voor mensen met schulden?",
    "Hoe betrek je jongeren bij beleid van de gemeente?",
    "Hoe werken school en jongerenwerk samen rond een jongere?",
    "Wat doet armoede met kinderen op school?",
    "Hoe geef je bewoners zeggenschap over geld voor hun buurt?",
    "Hoe maak je de impact van sociaal werk zichtbaar?",
    "Wat hebben professionals nodig om te doen wat nodig is?",
    "Hoe werken wijkteam en schuldhulp samen bij huurachterstand?",
    "Hoe ga je om met wantrouwen na de toeslagenaffaire?",
    "Wat helpt een buurtkamer voor ontmoeting in de wijk?",
]


def agreement(km: Kennismakelaar) -> dict[str, Any]:
    """The labelled documents inferred again, per kind and whole."""
    catalog = km.catalog()
    ingestor = km.ingestor()
    rows = []
    for record in catalog.documents():
        if record.get("knowledge_inferred") or not record.get("knowledge"):
            continue
        text = " ".join(c["text"] for c in catalog.chunks_of(record["document_id"], record.get("content_hash")))
        guessed = infer_knowledge(record.get("kind"), ingestor._roles(record.get("authors", [])), text)
        rows.append((record["document_id"], sorted(record["knowledge"]), sorted(guessed)))
    per_kind = {k: sum((k in given) == (k in guessed) for _, given, guessed in rows) for k in KNOWLEDGE}
    return {"documents": len(rows), "exact": sum(given == guessed for _, given, guessed in rows),
            "per_kind": per_kind, "wrong": [r for r in rows if r[1] != r[2]]}


def answers(km: Kennismakelaar) -> dict[str, Any]:
    broker = km.broker()
    shown = []
    for q in QUESTIONS:
        answer = broker.ask(q, record=False)
        shown.append((q, [v.knowledge for v in answer.perspectives if v.found],
                      {v.knowledge: [f.document_id for f in v.findings] + [e.id for e in v.experts]
                       for v in answer.perspectives}))
    return {"questions": len(shown), "all_three": sum(len(k) == 3 for _, k, _ in shown),
            "all_three_with_people": sum(all(what.get(k) for k in KNOWLEDGE) for _, _, what in shown),
            "per_kind": {k: sum(k in found for _, found, _ in shown) for k in KNOWLEDGE}, "shown": shown}


def boost(km: Kennismakelaar) -> dict[str, Any]:
    from tests.test_samples import QUESTIONS as PLANTED

    broker = km.broker()
    out = {}
    for weight in (0.0, broker.evidence_boost):
        broker.evidence_boost = weight
        hits, rr = 0, 0.0
        for question, wanted in PLANTED.items():
            ranked = [r.document_id for r in broker.search(question, limit=10).results]
            hits += bool(wanted & set(ranked[:3]))
            rr += next((1 / (i + 1) for i, d in enumerate(ranked) if d in wanted), 0.0)
        out[f"boost {weight}"] = {"top3": f"{hits}/{len(PLANTED)}", "mrr": round(rr / len(PLANTED), 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a store that holds the demo corpus (else: ingest it now)")
    parser.add_argument("--verbose", action="store_true", help="each question's kinds and what shows them")
    args = parser.parse_args()
    data = args.data or Path(tempfile.mkdtemp(prefix="km-knowledge-"))
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
    try:
        if args.data is None:
            km.ingestor().run([SAMPLES / "documenten", SAMPLES / "experts"])
        agreed, shown, boosted = agreement(km), answers(km), boost(km)
    finally:
        km.close()
    print(f"knowledge inferred for {agreed['documents']} labelled documents: {agreed['exact']} exactly right; "
          "per kind " + ", ".join(f"{k} {n}/{agreed['documents']}" for k, n in agreed["per_kind"].items()))
    for doc_id, given, guessed in agreed["wrong"]:
        print(f"  {doc_id}: labelled {given}, inferred {guessed}")
    print(f"answers with findings of all three kinds: {shown['all_three']} of {shown['questions']} questions "
          f"({shown['all_three_with_people']} counting people who bring a kind); per kind "
          + ", ".join(f"{k} {n}" for k, n in shown["per_kind"].items()))
    if args.verbose:
        for q, found, what in shown["shown"]:
            print(f"  {q}\n    {'/'.join(found) or '-'}  {json.dumps(what, ensure_ascii=False)}")
    print("planted questions, evidence boost off and on: " + json.dumps(boosted))


if __name__ == "__main__":
    main()
