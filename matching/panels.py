"""Compose an expert panel for a meeting: relevance and coverage, under the coordinator's constraints.

Greedy maximisation of relevance plus the coverage a person adds (new ateliers, themes, roles), never
taking a step after which the constraints can no longer be met; a repair pass swaps members when the
greedy choice left a constraint open; what cannot be met is said, not hidden. Each member comes with
the reasons for the choice, in Dutch.

Invitations are spread: every seat someone had on one of the last ``RECENT_MEETINGS`` panels costs
``FAIRNESS_WEIGHT`` of gain, so the same three people do not sit on every panel while others who know as
much are never asked. The penalty is said, for those chosen anyway and for those who gave way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.taxonomy import Taxonomy
from matching.availability import PassedOver
from matching.results import ExpertMatch

COVERAGE_WEIGHT = 0.35
FAIRNESS_WEIGHT = 0.12  # per recent seat: three seats cost about one new atelier's worth of coverage
RECENT_MEETINGS = 10


@dataclass(frozen=True)
class PanelConstraints:
    min_roles: dict[str, int] = field(default_factory=dict)  # e.g. {"onderzoeker": 1}
    max_per_organization: int | None = None
    cover_ateliers: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass
class PanelMember:
    expert: ExpertMatch
    why: list[str]


@dataclass
class Panel:
    members: list[PanelMember]
    unmet: list[str]
    candidates: int
    passed_over: list[PassedOver] = field(default_factory=list)  # unavailable, full, or giving way to others


def recent_invitations(meetings: Sequence[Mapping[str, Any]], last: int = RECENT_MEETINGS) -> Counter[str]:
    """Seats per person on the panels of the ``last`` meetings (by date, planned or held).

    >>> recent_invitations([{"date": "2026-01-01", "panel": ["a", "b"]}, {"date": "2026-02-01", "panel": ["a"]}])
    Counter({'a': 2, 'b': 1})
    """
    latest = sorted(meetings, key=lambda m: (str(m.get("date", "")), str(m.get("created_at", ""))))[-last:]
    return Counter(p for m in latest for p in m.get("panel", []))


def compose(candidates: Sequence[ExpertMatch], k: int, constraints: PanelConstraints,
            taxonomy: Taxonomy, *, invitations: Mapping[str, int] | None = None) -> Panel:
    """Choose ``k`` people from ``candidates`` (best first) and explain each choice; ``invitations`` are the
    seats each person had on recent panels (``recent_invitations``)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    seats = invitations or {}
    pool = [c for c in candidates if c.id not in constraints.exclude]
    top = max((c.score for c in pool), default=1.0) or 1.0
    chosen: list[ExpertMatch] = []
    while len(chosen) < k:
        options = [c for c in pool if c not in chosen and _allowed(c, chosen, constraints)
                   and _feasible([*chosen, c], k, constraints, pool)]
        if not options:
            break
        chosen.append(max(options, key=lambda c: _gain(c, chosen, top, seats)))
    chosen = _repair(chosen, pool, k, constraints, top, seats)
    members = [PanelMember(c, _why(c, chosen, constraints, taxonomy, top, seats)) for c in chosen]
    return Panel(members, _unmet(chosen, constraints, taxonomy), len(pool), _gave_way(chosen, pool, top, seats))


def _gain(c: ExpertMatch, chosen: Sequence[ExpertMatch], top: float, seats: Mapping[str, int]) -> float:
    have_ateliers = {a for m in chosen for a in m.ateliers}
    have_themes = {t for m in chosen for t in m.themes}
    have_roles = {m.role for m in chosen}
    new = len(set(c.ateliers) - have_ateliers) + 0.5 * len(set(c.themes) - have_themes) \
        + 0.5 * (c.role not in have_roles)
    return c.score / top + COVERAGE_WEIGHT * new - FAIRNESS_WEIGHT * seats.get(c.id, 0)


def _gave_way(chosen: Sequence[ExpertMatch], pool: Sequence[ExpertMatch], top: float,
              seats: Mapping[str, int]) -> list[PassedOver]:
    """People more relevant than the least relevant member, left out because of their recent seats."""
    if not chosen:
        return []
    floor = min(c.score for c in chosen)
    return [PassedOver(c.id, c.name, f"Zat al in {seats[c.id]} van de laatste {RECENT_MEETINGS} panels; "
                                     "anderen krijgen voorrang.")
            for c in pool if c not in chosen and seats.get(c.id) and c.score > floor]


def _allowed(c: ExpertMatch, chosen: Sequence[ExpertMatch], constraints: PanelConstraints) -> bool:
    limit = constraints.max_per_organization
    if limit is None or not c.organization:
        return True
    return sum(m.organization == c.organization for m in chosen) < limit


def _deficit(team: Sequence[ExpertMatch], constraints: PanelConstraints) -> tuple[int, set[str]]:
    roles = Counter(m.role for m in team)
    missing_roles = sum(max(0, n - roles[r]) for r, n in constraints.min_roles.items())
    covered = {a for m in team for a in m.ateliers}
    return missing_roles, set(constraints.cover_ateliers) - covered


def _feasible(team: Sequence[ExpertMatch], k: int, constraints: PanelConstraints,
              pool: Sequence[ExpertMatch]) -> bool:
    """Can the remaining places still meet the constraints that the pool can meet at all?"""
    _, uncovered = _deficit(team, constraints)
    uncovered &= {a for c in pool for a in c.ateliers}
    available, have = Counter(c.role for c in pool), Counter(m.role for m in team)
    missing_roles = sum(max(0, min(n, available[r]) - have[r]) for r, n in constraints.min_roles.items())
    widest = max((len(c.ateliers) for c in pool), default=1) or 1
    return k - len(team) >= max(missing_roles, -(-len(uncovered) // widest))


def _repair(chosen: list[ExpertMatch], pool: Sequence[ExpertMatch], k: int, constraints: PanelConstraints,
            top: float, seats: Mapping[str, int]) -> list[ExpertMatch]:
    """Swap members for candidates that close an open constraint, losing as little relevance as possible."""
    for _ in range(k):
        roles, uncovered = _deficit(chosen, constraints)
        if not roles and not uncovered:
            break
        best = None
        for out in sorted(chosen, key=lambda m: m.score):
            for inn in pool:
                if inn in chosen:
                    continue
                team = [m for m in chosen if m is not out] + [inn]
                if not all(_allowed(m, [x for x in team if x is not m], constraints) for m in team):
                    continue
                r2, u2 = _deficit(team, constraints)
                if (r2, len(u2)) < (roles, len(uncovered)):
                    loss = out.score - inn.score
                    if best is None or loss < best[0]:
                        best = (loss, team)
        if best is None:
            break
        chosen = sorted(best[1], key=lambda m: -_gain(m, [], top, seats))
    return chosen


def _why(c: ExpertMatch, team: Sequence[ExpertMatch], constraints: PanelConstraints, taxonomy: Taxonomy,
         top: float, seats: Mapping[str, int]) -> list[str]:
    out = [f"Relevant voor het onderwerp ({round(100 * c.score / top)}% van de beste match)."]
    docs = [r.title for r in c.reasons if r.type == "document"][:2]
    if docs:
        out.append("Werkte mee aan: " + "; ".join(docs) + ".")
    others = [m for m in team if m is not c]
    own = [a for a in c.ateliers if a not in {x for m in others for x in m.ateliers}]
    if own:
        out.append("Brengt het atelier " + ", ".join(taxonomy.name_of(a) for a in own) + " in.")
    if c.role and c.role in constraints.min_roles and sum(m.role == c.role for m in team) <= \
            constraints.min_roles[c.role]:
        out.append(f"Nodig voor de eis: minstens {constraints.min_roles[c.role]} {c.role}.")
    elif c.role and c.role not in {m.role for m in others}:
        out.append(f"Enige {c.role} in het panel.")
    new_themes = [t for t in c.themes if t not in {x for m in others for x in m.themes}]
    if new_themes:
        out.append("Voegt het thema " + ", ".join(taxonomy.name_of(t) for t in new_themes) + " toe.")
    if seats.get(c.id):
        out.append(f"Zat al in {seats[c.id]} van de laatste {RECENT_MEETINGS} panels (telt als minpunt).")
    return out


def _unmet(team: Sequence[ExpertMatch], constraints: PanelConstraints, taxonomy: Taxonomy) -> list[str]:
    out = []
    roles = Counter(m.role for m in team)
    for role, n in constraints.min_roles.items():
        if roles[role] < n:
            out.append(f"Minstens {n} {role}: er zijn er {roles[role]} gevonden onder de relevante kandidaten.")
    covered = {a for m in team for a in m.ateliers}
    for atelier in constraints.cover_ateliers:
        if atelier not in covered:
            out.append(f"Atelier {taxonomy.name_of(atelier)} niet gedekt: geen relevante kandidaat uit dat atelier.")
    return out
