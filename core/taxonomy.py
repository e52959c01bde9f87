"""The ateliers and themes (GUIDE 4.3): the default set, or a YAML file that replaces it.

>>> t = Taxonomy.default()
>>> t.resolve_atelier("Kansrijk met Jeugd"), t.resolve_theme("impact")
('kansrijk-met-jeugd', 'impact')
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError
from core.knowledge import SOURCES, EvidenceLevel
from core.names import fold, slugify
from core.safe_yaml import load_yaml_strict


@dataclass(frozen=True)
class Term:
    slug: str
    name: str
    description: str = ""
    kind: str = "atelier"  # or "theme"


@dataclass(frozen=True)
class Taxonomy:
    ateliers: tuple[Term, ...]
    themes: tuple[Term, ...]
    evidence: tuple[EvidenceLevel, ...] = ()  # weakest first

    @classmethod
    def default(cls) -> Taxonomy:
        return cls.from_mapping(_default_mapping(), "standaardtaxonomie")

    @classmethod
    def load(cls, path: Path | None) -> Taxonomy:
        """The taxonomy from ``path``, or the default when ``path`` is None."""
        if path is None:
            return cls.default()
        try:
            data = load_yaml_strict(Path(path).read_text("utf-8"))
        except OSError as exc:
            raise ConfigError(f"Taxonomiebestand {path} is niet te lezen: {exc.strerror}.") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"Taxonomiebestand {path} is geen geldige YAML: {exc}.") from exc
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_mapping(cls, data: Any, origin: str) -> Taxonomy:
        if not isinstance(data, dict) or not isinstance(data.get("ateliers"), list):
            raise ConfigError(f"Taxonomie {origin}: verwacht een lijst 'ateliers' (en 'themes').",
                              hint="Elk item heeft slug, name en description.")
        def terms(items: Any, kind: str) -> tuple[Term, ...]:
            out = []
            for item in items or []:
                if not isinstance(item, dict) or not (item.get("slug") or item.get("name")):
                    raise ConfigError(f"Taxonomie {origin}: elk item in '{kind}s' heeft een slug of name.")
                name = str(item.get("name") or item["slug"])
                out.append(Term(slugify(str(item.get("slug") or name)), name,
                                str(item.get("description") or ""), kind))
            return tuple(out)
        levels = data.get("evidence_levels")
        if levels is None and origin != "standaardtaxonomie":  # a file without its own list: the databanks'
            levels = _default_mapping()["evidence_levels"]
        return cls(terms(data["ateliers"], "atelier"), terms(data.get("themes"), "theme"),
                   _evidence_levels(levels or [], origin))

    def resolve_atelier(self, value: str) -> str | None:
        """The slug for a slug or name given by a user (case and accents ignored), or None."""
        return _resolve(self.ateliers, value)

    def resolve_theme(self, value: str) -> str | None:
        return _resolve(self.themes, value)

    def resolve_evidence(self, value: str) -> str | None:
        """The slug of an evidence level as people write it ("Goed onderbouwd", "effectief"), or None."""
        wanted = slugify(value)
        return next((e.slug for e in self.evidence if wanted in (e.slug, slugify(e.name))), None)

    def evidence_level(self, slug: str | None) -> EvidenceLevel | None:
        return next((e for e in self.evidence if e.slug == slug), None) if slug else None

    def evidence_rank(self, slug: str | None) -> int:
        """0 for no level (or one the taxonomy no longer has)."""
        level = self.evidence_level(slug)
        return level.rank if level else 0

    @property
    def top_rank(self) -> int:
        return max((e.rank for e in self.evidence), default=0)

    def atelier_names(self) -> dict[str, str]:
        """Each atelier's name by its slug, in the taxonomy's order."""
        return {a.slug: a.name for a in self.ateliers}

    def name_of(self, slug: str) -> str:
        for term in (*self.ateliers, *self.themes):
            if term.slug == slug:
                return term.name
        return slug

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "ateliers": [{"slug": t.slug, "name": t.name, "description": t.description} for t in self.ateliers],
            "themes": [{"slug": t.slug, "name": t.name, "description": t.description} for t in self.themes],
            "evidence_levels": [{"slug": e.slug, "name": e.name, "rank": e.rank, "databank": e.databank,
                                 "description": e.description} for e in self.evidence],
            "knowledge": [{"slug": k.slug, "name": k.name, "heading": k.heading} for k in SOURCES],
        }


def _default_mapping() -> Any:
    return load_yaml_strict(resources.files("core").joinpath("taxonomy_default.yaml").read_text("utf-8"))


def _evidence_levels(items: Any, origin: str) -> tuple[EvidenceLevel, ...]:
    out: list[EvidenceLevel] = []
    for item in items if isinstance(items, list) else [items]:
        if not isinstance(item, dict) or not (item.get("slug") or item.get("name")):
            raise ConfigError(f"Taxonomie {origin}: elk item in 'evidence_levels' heeft een slug of name.")
        try:
            rank = int(item.get("rank", len(out) + 1))
        except (TypeError, ValueError):
            raise ConfigError(f"Taxonomie {origin}: 'rank' van {item.get('slug') or item.get('name')!r} is geen "
                              "geheel getal.") from None
        name = str(item.get("name") or item["slug"])
        out.append(EvidenceLevel(slugify(str(item.get("slug") or name)), name, rank,
                                 str(item.get("databank") or ""), str(item.get("description") or "")))
    return tuple(sorted(out, key=lambda e: e.rank))


def _resolve(terms: tuple[Term, ...], value: str) -> str | None:
    wanted = slugify(value)
    for term in terms:
        if wanted in (term.slug, slugify(term.name)):
            return term.slug
    # a short form such as "armoede" or "jeugd" that names exactly one term
    hits = [t for t in terms if wanted and wanted in t.slug.split("-") + slugify(t.name).split("-")]
    if len(hits) == 1 and len(fold(value)) >= 4:
        return hits[0].slug
    return None
