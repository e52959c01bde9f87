"""The weighted Kendall-tau loss agrees with the authors' own ``compute_main_metric``, ties included."""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from benchmarks.expertise_loss import DATA, load_ratings, random_affinity, weighted_kendall_loss


def reference(preds, refs, vp, vr):
    # a transcription of scripts/scoring.py@1ddb35c (niharshah/goldstandard-reviewer-paper-match), MIT licence
    max_loss, loss = 0, 0
    for reviewer in vr:
        papers = list(refs[reviewer].keys())
        for p1, p2 in combinations(papers, 2):
            if p1 not in vp or p2 not in vp:
                continue
            pred_diff = preds[reviewer][p1] - preds[reviewer][p2]
            true_diff = refs[reviewer][p1] - refs[reviewer][p2]
            max_loss += abs(true_diff)
            if pred_diff * true_diff == 0:
                loss += abs(true_diff) / 2
            if pred_diff * true_diff < 0:
                loss += abs(true_diff)
    return loss / max_loss


@pytest.mark.parametrize("seed", range(30))
def test_matches_the_authors_code_with_ties_on_both_sides(seed):
    rng = random.Random(seed)
    ratings = {f"r{i}": {f"p{i}_{j}": rng.choice([1, 2, 2.5, 3, 4, 5]) for j in range(rng.randint(2, 10))}
               for i in range(rng.randint(1, 8))}
    if all(len(set(papers.values())) == 1 for papers in ratings.values()):
        pytest.skip("every rating tied: undefined in both")
    # few distinct values, so predicted ties are common
    preds = {r: {p: float(rng.randint(0, 3)) for p in papers} for r, papers in ratings.items()}
    sample = rng.choices(list(ratings), k=len(ratings))
    papers = {p for rated in ratings.values() for p in rated if rng.random() < 0.8}
    try:
        expected = reference(preds, ratings, papers, sample)
    except ZeroDivisionError:
        with pytest.raises(ValueError):
            weighted_kendall_loss(ratings, preds, researchers=sample, papers=papers)
        return
    assert weighted_kendall_loss(ratings, preds, researchers=sample, papers=papers) == pytest.approx(expected)


def test_a_random_affinity_on_the_dev_ratings_is_near_one_half():
    ratings = load_ratings(DATA / "evaluations-dev.tsv")
    losses = [weighted_kendall_loss(ratings, random_affinity(seed)) for seed in range(20)]
    assert abs(sum(losses) / len(losses) - 0.5) < 0.03


def test_a_nan_affinity_is_refused_rather_than_counted_correct():
    with pytest.raises(ValueError):
        weighted_kendall_loss({"r": {"a": 1, "b": 2}}, lambda r, p: float("nan"))
