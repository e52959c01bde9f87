"""Knowledge-agenda clustering: SciPy's average linkage against the hand-written loop it replaced.

    python -m benchmarks.agenda [--questions 2000]

Questions are made as noisy copies of a few hundred topic vectors (384-d, like e5), so the clusters are of
realistic sizes; both implementations run on the same vectors in the same run, and their partitions are
compared.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from matching.agenda import cluster_vectors


def reference_clusters(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """The hand-written average-linkage loop of before (O(n³)): the baseline, and the reference in tests."""
    n = len(vectors)
    clusters = [[i] for i in range(n)]
    if n < 2:
        return clusters
    link = (vectors @ vectors.T).astype(np.float64)
    np.fill_diagonal(link, -np.inf)
    alive = list(range(n))
    while len(alive) > 1:
        sub = link[np.ix_(alive, alive)]
        i, j = np.unravel_index(int(np.argmax(sub)), sub.shape)
        if sub[i, j] < threshold:
            break
        a, b = alive[i], alive[j]
        size_a, size_b = len(clusters[a]), len(clusters[b])
        merged = (link[a] * size_a + link[b] * size_b) / (size_a + size_b)
        link[a], link[:, a] = merged, merged
        link[a, a] = -np.inf
        clusters[a] += clusters[b]
        alive.remove(b)
    return [clusters[i] for i in alive]


def questions(n: int, dim: int = 384, topics: int = 300, noise: float = 0.012, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dim))
    v = centres[rng.integers(0, topics, n)] / np.sqrt(dim) + rng.normal(scale=noise, size=(n, dim))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def partition(groups: list[list[int]]) -> set[frozenset[int]]:
    return {frozenset(g) for g in groups}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--similarity", type=float, default=0.9)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs of SciPy's clustering (median)")
    args = parser.parse_args()
    v = questions(args.questions)
    t0 = time.perf_counter()
    ours = cluster_vectors(v, args.similarity)  # the first call of a process also imports SciPy
    first_s = time.perf_counter() - t0
    runs = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        cluster_vectors(v, args.similarity)
        runs.append(time.perf_counter() - t0)
    scipy_s = statistics.median(runs)
    t0 = time.perf_counter()
    before = reference_clusters(v, args.similarity)
    loop_s = time.perf_counter() - t0
    result = {"questions": args.questions, "clusters": len(ours), "largest": max(map(len, ours)),
              "scipy_ms": round(scipy_s * 1000, 1), "scipy_first_call_ms": round(first_s * 1000, 1),
              "hand_written_ms": round(loop_s * 1000, 1),
              "speed_up": round(loop_s / scipy_s, 1), "same_partition": partition(ours) == partition(before)}
    print(f"{args.questions} open questions, {len(ours)} clusters (largest {result['largest']}): "
          f"SciPy {result['scipy_ms']} ms (median of {args.repeat}; first call with the import "
          f"{result['scipy_first_call_ms']} ms), hand-written {result['hand_written_ms']} ms "
          f"({result['speed_up']}x); same partition: {result['same_partition']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
