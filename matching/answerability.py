"""Whether the Werkplaats knows the answer to a question: one judgement from several signals.

One cosine threshold on the best passage cannot tell: with multilingual-e5 every passage scores about 0.8
against any question (an apple-pie recipe included), a one-word question scores lower than a full one about
the same thing, and a long question scores higher against everything. The judgement weighs, for the
question's best passages:

- ``best``: the best passage's cosine;
- ``lift``: how far the best stands out above what the store's passages typically score for this question
  (the median cosine of the dense list): a store that knows nothing of a subject has no passage that stands
  out;
- ``coverage``: the share of the question's own words (stems, stopwords left out) that its best passages
  contain: a passage about the subject uses its words;
- ``agree``: whether the meaning (dense) and the words (BM25) put the same document first: on a subject the
  store knows, both find it; on one it does not, BM25's first hit shares a stray word;
- ``length``: how many words the question has (long questions score higher against everything, and cover
  fewer of their words).

The weights are a logistic model calibrated on a development set (``benchmarks/answerability.py``: policyqa-
sections with the sections that answer a held-back quarter of the questions withheld from the store, and
questions out of the domain), and checked on the demo corpus's own answerable and unanswerable questions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

BEST_PASSAGES = 3  # the passages whose words are compared with the question's


@dataclass(frozen=True)
class Signals:
    best: float
    lift: float
    coverage: float
    length: int
    agree: bool = False


def signals(cosines: Sequence[float], question_terms: set[int], best_passage_terms: Sequence[set[int]], *,
            agree: bool = False) -> Signals:
    """The signals of one question from the cosines of its dense list (best first), the terms (BM25 stems)
    of the question and of its best passages, and whether both retrievers put the same document first.

    >>> s = signals([0.9, 0.82, 0.81, 0.8], {1, 2, 3, 4}, [{1, 2}, {3, 9}])
    >>> s.best, s.lift, s.coverage, s.length
    (0.9, 0.085, 0.75, 4)
    """
    ordered = sorted(cosines, reverse=True)
    best = ordered[0] if ordered else 0.0
    median = _median(ordered) if ordered else 0.0
    found = set().union(*best_passage_terms) if best_passage_terms else set()
    coverage = len(question_terms & found) / len(question_terms) if question_terms else 0.0
    return Signals(round(best, 6), round(best - median, 6), round(coverage, 6), len(question_terms), agree)


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass(frozen=True)
class Model:
    """A logistic model over the signals: answered when the log-odds are at least 0."""

    bias: float
    best: float
    lift: float
    coverage: float
    log_length: float
    agree: float

    def log_odds(self, s: Signals) -> float:
        return (self.bias + self.best * s.best + self.lift * s.lift + self.coverage * s.coverage
                + self.log_length * math.log1p(s.length) + self.agree * s.agree)

    def answered(self, s: Signals) -> bool:
        """Answered when the log-odds are at least 0 — never for a question that matched no passage at all."""
        return s.best > 0.0 and self.log_odds(s) >= 0.0

    def confidence(self, s: Signals) -> float:
        """The model's probability that the question is answered (low: sure it is not)."""
        return 1.0 / (1.0 + math.exp(-self.log_odds(s))) if s.best > 0.0 else 0.0


# calibrated by ``python -m benchmarks.answerability`` ("fitted on both halves"; 2026-12-05): the same fit on
# the fit halves alone admits, on the check halves, 92 % of out-of-domain questions on policyqa-sections and 86 %
# on the demo corpus, 81 % of the demo's unanswerable social-domain questions, with 5 to 6 % false alarms
CALIBRATED = Model(bias=-5.6367, best=2.0259, lift=0.7775, coverage=4.6497, log_length=0.8635, agree=0.7571)
