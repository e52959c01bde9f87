"""Does the broker know when the Werkplaats knows? The 'answered' judgement calibrated and checked.

    python -m benchmarks.answerability            # fit on half of every group, check on the other half

The development set has two corpora, each asked through ``Broker.ask``:

- policyqa-sections with the sections that answer the held-back quarter of the questions withheld from the
  store (``benchmarks.sets.withheld_store``): those 111 questions have no answer in it, although the other
  sections of their pages (the same subject) stay; the other 387 have theirs. Beside it, a store without the
  whole pages those questions are about (``page_withheld_store``: the subject gone, neighbouring subjects left);
- the demo corpus with questions written for it (``questions/demo_answerable.txt`` and the twenty of
  ``benchmarks.knowledge``) and social-domain questions it cannot answer (``questions/demo_unanswerable.txt``);
- and for both, 150 questions out of the domain (``questions/out_of_domain.txt``: cooking, car repair, medical
  specialisms, one-word and long ones).

Every group is split in two by a hash of the question: the logistic model is fitted on one half (``fit``), its
bias set so that at most 8 % of the fit half's answerable questions are judged unanswered, and it is judged on
the other half (``check``). Goal (issue 21): at least 90 % of the unanswerable questions admitted (judged not
answered) with at most 10 % false alarms (answerable questions judged not answered).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from benchmarks import sets
from benchmarks.knowledge import QUESTIONS as KNOWLEDGE_QUESTIONS
from matching.answerability import CALIBRATED, Model, Signals
from service.container import Kennismakelaar
from service.settings import Settings

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples"
FEATURES = ("best", "lift", "coverage", "log_length", "agree")


def lines(name: str) -> list[str]:
    text = (HERE / "questions" / name).read_text("utf-8")
    return [line.split("\t")[0].strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def half(text: str) -> str:
    return "fit" if hashlib.sha256(text.encode()).digest()[0] % 2 == 0 else "check"


def vector(s: Signals) -> list[float]:
    return [s.best, s.lift, s.coverage, math.log1p(s.length), float(s.agree)]


def judged(km: Kennismakelaar, questions: Sequence[str]) -> list[Signals]:
    broker = km.broker()
    out = []
    for q in questions:
        answer = broker.ask(broker.fit(q), record=False)
        assert answer.signals is not None
        out.append(answer.signals)
    return out


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, groups: Sequence[str] | None = None) -> np.ndarray:
    """Logistic regression (log-loss, a little L2) by BFGS: [bias, *weights]. Every group (by default: each
    class) weighs the same in all, however many questions it has."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    keys = list(groups) if groups is not None else [str(v) for v in y]
    size = {k: keys.count(k) for k in set(keys)}
    weight = np.array([1.0 / (len(size) * size[k]) for k in keys])

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        z = xb @ beta
        p = 1 / (1 + np.exp(-z))
        ll = -(weight * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))).sum() + l2 * (beta[1:] ** 2).sum()
        grad = xb.T @ (weight * (p - y)) + 2 * l2 * np.r_[0, beta[1:]]
        return ll, grad

    return minimize(loss, np.zeros(xb.shape[1]), jac=True, method="BFGS").x


def rates(model: Model, answerable: Sequence[Signals], unanswerable: Sequence[Signals]) -> dict[str, float]:
    """The share of unanswerable questions admitted (not answered) and of answerable ones falsely so."""
    admitted = sum(not model.answered(s) for s in unanswerable) / max(1, len(unanswerable))
    false = sum(not model.answered(s) for s in answerable) / max(1, len(answerable))
    return {"admitted": round(admitted, 3), "false alarms": round(false, 3), "n": len(unanswerable),
            "answerable": len(answerable)}


def with_bias(beta: Sequence[float], shift: float = 0.0) -> Model:
    return Model(bias=float(beta[0]) + shift, **{k: float(v) for k, v in zip(FEATURES, beta[1:], strict=True)})


def demo_store(name: str = "demo") -> Kennismakelaar:
    """The demo corpus, ingested once into the benchmark's folder ``name`` (one process owns a store: two
    benchmarks at once each take their own)."""
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(sets.WORK / name / "store")}))
    km.ingestor().run([SAMPLES / "documenten", SAMPLES / "experts"])
    return km


GROUPS = ("answerable", "withheld", "outside")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, help="only the first N questions of each group (a quick look)")
    parser.add_argument("--cached", action="store_true",
                        help="the signals of the last run (only the model is fitted and judged again)")
    args = parser.parse_args()
    cut = slice(None, args.limit)
    questions = sets.section_questions()
    pages = sets.withheld_pages()
    page_of = {s["id"]: s["page"] for s in sets.sections()}
    texts = {
        "sections": {"answerable": [q["question"] for q in questions if not sets.held_back(q["id"])][cut],
                     "withheld": [q["question"] for q in questions if sets.held_back(q["id"])][cut],
                     "outside": lines("out_of_domain.txt")[cut]},
        "pages": {"answerable": [q["question"] for q in questions if not sets.held_back(q["id"])][cut],
                  "withheld": [q["question"] for q in questions if sets.held_back(q["id"])
                               and page_of[q["relevant"][0]] in pages][cut],
                  "outside": lines("out_of_domain.txt")[cut]},
        "demo": {"answerable": (lines("demo_answerable.txt") + KNOWLEDGE_QUESTIONS)[cut],
                 "withheld": lines("demo_unanswerable.txt")[cut], "outside": lines("out_of_domain.txt")[cut]}}
    stores = {"sections": sets.withheld_store, "pages": sets.page_withheld_store, "demo": demo_store}
    judged_: dict[str, dict[str, list[tuple[str, Signals]]]] = {}
    cache = sets.WORK / "answerability-signals.json"
    if args.cached and cache.exists():
        judged_ = {c: {g: [(t, Signals(**s)) for t, s in items] for g, items in groups.items()}
                   for c, groups in json.loads(cache.read_text("utf-8")).items()}
    else:
        for corpus, make in stores.items():
            km = make()
            judged_[corpus] = {g: list(zip(texts[corpus][g], judged(km, texts[corpus][g]), strict=True))
                               for g in GROUPS}
            km.close()
        cache.write_text(json.dumps({c: {g: [(t, s.__dict__) for t, s in items] for g, items in groups.items()}
                                     for c, groups in judged_.items()}), "utf-8")

    def part(corpus: str, group: str, which: str) -> list[Signals]:
        return [s for text, s in judged_[corpus][group] if half(text) == which]

    def calibrate(which: Sequence[str]) -> Model:
        """Fitted on the halves ``which``: every corpus and class weighs the same (the answerable questions of
        each corpus against its unanswerable and out-of-domain ones together); the bias such that at most 8 % of
        each corpus's answerable questions are judged unanswered."""
        fitted = [(s, 1.0 if g == "answerable" else 0.0, f"{c} {g == 'answerable'}") for c in ("sections", "demo")
                  for g in GROUPS for w in which for s in part(c, g, w)]
        beta = fit(np.array([vector(s) for s, _, _ in fitted]), np.array([y for _, y, _ in fitted]),
                   groups=[k for _, _, k in fitted])
        unbiased = with_bias(beta)
        answerable = {c: [s for w in which for s in part(c, "answerable", w)] for c in ("sections", "demo")}
        shift = max(-sorted(unbiased.log_odds(s) for s in yes)[int(0.08 * len(yes))] for yes in answerable.values())
        return with_bias(beta, shift + 1e-9)

    model = calibrate(["fit"])  # judged on the check halves: what to expect of it
    shipped = calibrate(["fit", "check"])  # the same, on every question: what ships

    def row(label: str, m: Model) -> dict[str, dict[str, float]]:
        out = {}
        for corpus in stores:
            for which in ("fit", "check"):
                yes = part(corpus, "answerable", which)
                no_answer, outside = part(corpus, "withheld", which), part(corpus, "outside", which)
                out[f"{corpus} {which}: unanswerable"] = rates(m, yes, no_answer)
                out[f"{corpus} {which}: out of domain"] = rates(m, yes, outside)
                out[f"{corpus} {which}: both"] = rates(m, yes, no_answer + outside)
        print(f"\n{label}")
        for k, v in out.items():
            print(f"  {k:36} admitted {v['admitted']:.3f} of {v['n']:>3}  "
                  f"false alarms {v['false alarms']:.3f} of {v['answerable']:>3}")
        return out

    baseline = Model(bias=-0.85 * 100, best=100.0, lift=0.0, coverage=0.0, log_length=0.0, agree=0.0)
    results = {"before: one cosine threshold (KM_ANSWER_THRESHOLD 0.85)": row("before: one cosine threshold 0.85",
                                                                               baseline),
               "fitted on the fit halves": row(f"fitted on the fit halves (read its check rows): {model}", model),
               "fitted on both (to ship)": row(f"fitted on both halves (to ship): {shipped}", shipped),
               "shipped (matching.answerability.CALIBRATED)": row(f"shipped: {CALIBRATED}", CALIBRATED)}
    for corpus, groups in judged_.items():
        for group, items in groups.items():
            mean = np.array([vector(s) for _, s in items]).mean(0) if items else []
            print(f"  mean signals {corpus:8} {group:10} " + " ".join(
                f"{f}={v:.3f}" for f, v in zip(FEATURES, mean, strict=False)))
    print(json.dumps({"model": shipped.__dict__, "results": results}))


if __name__ == "__main__":
    main()
