"""Compose an expert panel for a meeting: relevance and coverage, under the coordinator's constraints.

Greedy maximisation of relevance plus the coverage a person adds (new ateliers, themes, roles), never
taking a step after which the constraints can no longer be met; a repair pass swaps members when the
greedy choice left a constraint open; what cannot be met is said, not hidden. Each member comes with
the reasons for the choice, in Dutch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.taxonomy import Taxonomy
from matching.results import ExpertMatch

COVERAGE_WEIGHT = 0.35


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


def compose(candidates: Sequence[ExpertMatch], k: int, constraints: PanelConstraints,
            taxonomy: Taxonomy) -> Panel:
    """Choose ``k`` people from ``candidates`` (best first) and explain each choice."""
    if k < 1:
        raise ValueError("k must be at least 1")
    pool = [c for c in candidates if c.id not in constraints.exclude]
    top = max((c.score for c in pool), default=1.0) or 1.0
    chosen: list[ExpertMatch] = []
    while len(chosen) < k:
        options = [c for c in pool if c not in chosen and _allowed(c, chosen, constraints)
                   and _feasible([*chosen, c], k, constraints, pool)]
        if not options:
            break
        chosen.append(max(options, key=lambda c: _gain(c, chosen, top)))
    chosen = _repair(chosen, pool, k, constraints, top)
    members = [PanelMember(c, _why(c, chosen, constraints, taxonomy, top)) for c in chosen]
    return Panel(members, _unmet(chosen, constraints, taxonomy), len(pool))


def _gain(c: ExpertMatch, chosen: Sequence[ExpertMatch], top: float) -> float:
    have_ateliers = {a for m in chosen for a in m.ateliers}
    have_themes = {t for m in chosen for t in m.themes}
    have_roles = {m.role for m in chosen}
    new = len(set(c.ateliers) - have_ateliers) + 0.5 * len(set(c.themes) - have_themes) \
        + 0.5 * (c.role not in have_roles)
    return c.score / top + COVERAGE_WEIGHT * new


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
            top: float) -> list[ExpertMatch]:
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
        chosen = sorted(best[1], key=lambda m: -_gain(m, [], top))
    return chosen


def _why(c: ExpertMatch, team: Sequence[ExpertMatch], constraints: PanelConstraints, taxonomy: Taxonomy,
         top: float) -> list[str]:
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
