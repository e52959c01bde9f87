"""The weighted Kendall-tau loss of Stelmakh, Wieting, Xi, Neubig and Shah, "A Gold Standard Dataset for the
Reviewer Assignment Problem" (arXiv 2303.16750; TMLR 2025), for ``../shared/data/expertise-goldstandard``.

    python -m benchmarks.expertise_loss              # random and TF-IDF affinities on evaluations-dev.tsv

Source replicated: ``compute_main_metric`` in ``scripts/scoring.py`` of github.com/niharshah/goldstandard-reviewer-
paper-match, commit 1ddb35c8ddc02cc80b710e41825b0bce054a3790 (the same function is used by ``evaluation_script.py``
and ``notebooks/Experiments.ipynb`` for the paper's Table 3). For every researcher and every unordered pair of
papers they rated, with rating difference d and predicted-affinity difference e:

- the pair weighs |d|, so a pair the researcher rated equally weighs 0 and counts nowhere (neither in the loss
  nor in the normaliser), whatever the prediction;
- e and d of opposite sign (an inversion) cost |d|; e == 0 (a tie in the prediction, exact float equality, no
  tolerance) costs |d| / 2; the right order costs 0;
- the loss is pooled, not averaged per researcher: the sum of all costs over all researchers divided by the
  sum of all |d|. A researcher with many or widely spread ratings therefore weighs more than one with few.

So 0 is a perfect ordering, 1 the reversed one, and 0.5 both a constant predictor (every pair tied) and the
expectation of a random one. Only the order of the affinities matters, never their scale.

Departures, both on inputs the original never meets: a non-finite affinity is refused (in the original a NaN
silently counts as a correct order), and so is a set of ratings without a single unequal pair (the original
divides 0 by 0).

The published figures (title + abstract, the 20 most recent papers of each profile, full 58-researcher set;
point estimates averaged over 10 random tie-breaks of the profiles): SPECTER2 0.22, TPMS 0.28, the ACL
matcher 0.30; lower is better. Their 95% intervals come from 1,000 bootstrap resamples of the researchers
(with replacement, the pooled loss recomputed on each, percentiles 2.5 and 97.5); ``bootstrap_interval``
does the same for one affinity. ``evaluations-dev.tsv`` is about half of the researchers, so its figures
need not match the full set's.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
from collections.abc import Callable, Iterable, Mapping
from itertools import combinations
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "expertise-goldstandard"

Ratings = Mapping[str, Mapping[str, float]]
# a callable (researcher, paper) -> affinity, or the nested {researcher: {paper: affinity}} the authors' code takes
Affinity = Callable[[str, str], float] | Mapping[str, Mapping[str, float]]


def load_ratings(path: str | Path) -> dict[str, dict[str, float]]:
    """Researcher id → {paper id → self-rated expertise (1-5)}, from an ``evaluations*.tsv``.

    >>> ratings = load_ratings(DATA / "evaluations-dev.tsv")
    >>> len(ratings), sum(len(papers) for papers in ratings.values())
    (34, 282)
    """
    ratings: dict[str, dict[str, float]] = {}
    with Path(path).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            papers: dict[str, float] = {}
            for i in range(1, 11):
                paper, rating = (row.get(f"Paper{i}") or "").strip(), (row.get(f"Expertise{i}") or "").strip()
                # fewer than ten rated papers leaves the trailing cells empty
                if paper and rating:
                    papers[paper] = float(rating)
            ratings[row["ParticipantID"].strip()] = papers
    return ratings


def _scorer(affinity: Affinity) -> Callable[[str, str], float]:
    if callable(affinity):
        return affinity
    return lambda researcher, paper: affinity[researcher][paper]


def weighted_kendall_loss(ratings: Ratings, affinity: Affinity, *, researchers: Iterable[str] | None = None,
                          papers: Iterable[str] | None = None) -> float:
    """The authors' pooled weighted Kendall-tau loss of ``affinity`` against ``ratings`` (0 best, 0.5 random).

    ``researchers`` may repeat an id (a bootstrap resample counts it twice, as theirs does); ``papers``, when
    given, drops every pair with a paper outside it (their ``vp``).

    >>> ratings = {"r1": {"a": 5, "b": 3, "c": 1}, "r2": {"d": 4, "e": 4, "f": 2}}
    >>> true = lambda r, p: ratings[r][p]
    >>> weighted_kendall_loss(ratings, true)
    0.0
    >>> weighted_kendall_loss(ratings, lambda r, p: -ratings[r][p])
    1.0
    >>> weighted_kendall_loss(ratings, lambda r, p: 0.0)
    0.5

    The loss is pooled over researchers, weighted by the rating gap, not a mean of per-researcher losses:
    r1 gets its one pair wrong (gap 4), r2 its one pair right (gap 1), so 4 / 5 and not (1 + 0) / 2.

    >>> weighted_kendall_loss({"r1": {"a": 5, "b": 1}, "r2": {"c": 2, "d": 1}},
    ...                       {"r1": {"a": 0.1, "b": 0.9}, "r2": {"c": 0.9, "d": 0.1}})
    0.8
    """
    score = _scorer(affinity)
    allowed = None if papers is None else set(papers)
    loss = max_loss = 0.0
    for researcher in ratings if researchers is None else researchers:
        rated = ratings[researcher]
        predicted = {}
        for paper in rated:
            if allowed is not None and paper not in allowed:
                continue
            value = float(score(researcher, paper))
            if not math.isfinite(value):
                raise ValueError(f"affinity of ({researcher}, {paper}) is {value}")
            predicted[paper] = value
        for p1, p2 in combinations(predicted, 2):
            true_diff = rated[p1] - rated[p2]
            pred_diff = predicted[p1] - predicted[p2]
            weight = abs(true_diff)
            if weight == 0:
                continue  # an equally rated pair adds 0 to loss and normaliser alike in theirs
            max_loss += weight
            # signs, not the authors' product pred_diff * true_diff: identical except where the product underflows
            if pred_diff == 0:
                loss += weight / 2
            elif (pred_diff > 0) != (true_diff > 0):
                loss += weight
    if max_loss == 0:
        raise ValueError("no pair of papers with different ratings: the loss is undefined")
    return loss / max_loss


def bootstrap_interval(ratings: Ratings, affinity: Affinity, *, n: int = 1000, seed: int = 0,
                       papers: Iterable[str] | None = None) -> tuple[float, float]:
    """95% interval of the loss over ``n`` resamples of the researchers with replacement, as the authors do.

    >>> low, high = bootstrap_interval({"r1": {"a": 5, "b": 1}, "r2": {"c": 2, "d": 1}},
    ...                                lambda r, p: {"a": 0, "b": 1, "c": 1, "d": 0}[p], n=200)
    >>> low < 0.8 < high
    True
    """
    rng = random.Random(seed)
    pool = list(ratings)
    allowed = None if papers is None else set(papers)
    losses = []
    for _ in range(n):
        sample = rng.choices(pool, k=len(pool))
        try:
            losses.append(weighted_kendall_loss(ratings, affinity, researchers=sample, papers=allowed))
        except ValueError:
            continue  # a resample of only tied researchers has no loss; theirs would record NaN
    losses.sort()

    def percentile(q: float) -> float:
        # linear interpolation between order statistics, numpy's default
        at = q * (len(losses) - 1)
        low = math.floor(at)
        return losses[low] + (losses[min(low + 1, len(losses) - 1)] - losses[low]) * (at - low)

    return percentile(0.025), percentile(0.975)


def random_affinity(seed: int = 0) -> Callable[[str, str], float]:
    rng = random.Random(seed)
    cache: dict[tuple[str, str], float] = {}
    return lambda r, p: cache.setdefault((r, p), rng.random())


def _text(paper: Mapping[str, Any]) -> str:
    return f"{paper.get('title') or ''}. {paper.get('abstract') or ''}"


def tfidf_affinity(ratings: Ratings, data: Path = DATA, profile_size: int | None = 20) -> dict[str, dict[str, float]]:
    """Cosine of TF-IDF vectors: a rated paper's title + abstract against the concatenated titles + abstracts
    of the researcher's own papers, a stand-in for their TPMS baseline.

    Like their ``prepare_dataset.py``, a profile keeps only papers with a title, abstract and year, and the
    ``profile_size`` most recent of those (their ties in year are broken at random; here by paper id, so the
    figure is reproducible). ``None`` keeps the whole profile.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer  # only this baseline needs it

    def paper(pid: str) -> dict[str, Any]:
        return json.loads((data / "papers" / f"{pid}.json").read_text(encoding="utf-8"))

    profiles: dict[str, str] = {}
    for researcher in ratings:
        own = json.loads((data / "participants" / f"{researcher}.json").read_text(encoding="utf-8"))
        full = {}
        for pid in sorted({p["paperId"] for p in own["papers"]}):
            content = paper(pid)
            if content.get("title") and content.get("abstract") and content.get("year"):
                full[pid] = content
        recent = sorted(full, key=lambda pid: -int(full[pid]["year"]))
        profiles[researcher] = " ".join(_text(full[pid]) for pid in recent[:profile_size])
    targets = {pid: _text(paper(pid)) for rated in ratings.values() for pid in rated}

    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    vectorizer.fit([*profiles.values(), *targets.values()])
    researcher_ids, paper_ids = list(profiles), list(targets)
    # rows are L2-normalised, so the dot product is the cosine
    similarity = vectorizer.transform(profiles.values()) @ vectorizer.transform(targets.values()).T
    row = {r: i for i, r in enumerate(researcher_ids)}
    column = {p: j for j, p in enumerate(paper_ids)}
    return {r: {p: float(similarity[row[r], column[p]]) for p in rated} for r, rated in ratings.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=Path, default=DATA / "evaluations-dev.tsv")
    parser.add_argument("--seeds", type=int, default=20, help="random predictors to average")
    args = parser.parse_args(argv)
    ratings = load_ratings(args.ratings)
    data = args.ratings.parent
    randoms = [weighted_kendall_loss(ratings, random_affinity(seed)) for seed in range(args.seeds)]
    print(f"{len(ratings)} researchers, {sum(map(len, ratings.values()))} ratings")
    print(f"random (mean of {args.seeds}): {sum(randoms) / len(randoms):.3f}  "
          f"[{min(randoms):.3f}..{max(randoms):.3f}]")
    for size in (20, None):
        affinity = tfidf_affinity(ratings, data, size)
        low, high = bootstrap_interval(ratings, affinity)
        label = "whole profile" if size is None else f"{size} most recent"
        print(f"TF-IDF cosine ({label}): {weighted_kendall_loss(ratings, affinity):.3f}  95% [{low:.2f}; {high:.2f}]")


if __name__ == "__main__":
    main()
