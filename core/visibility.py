"""Who may see a document: its visibility, and the audience a request is answered for.

A document is one of ``openbaar`` (anyone), ``werkplaats`` (signed-in members), ``atelier:<slug>`` (members
of that atelier) or ``coordinatie`` (coordinators). Every passage and document record carries its document's
visibility, and every query of an audience other than the coordinators filters on it inside the engine: for
someone who may not see a document it does not exist — not in a result, a count or a person's reasons
(``Audience.filter``). What the filter cannot hide: BM25's IDF is counted over the whole collection, so the
scores of what someone may see — and so, at the margin, its order — move slightly with the words of what they
may not.

>>> parse_visibility("Atelier: Kansrijk met jeugd", {"kansrijk-met-jeugd"})
'atelier:kansrijk-met-jeugd'
>>> PUBLIC.levels(), member({"tweedeling-en-armoede"}).levels()
(('openbaar',), ('openbaar', 'werkplaats', 'atelier:tweedeling-en-armoede'))
>>> COORDINATORS.levels() is None, COORDINATORS.may_see("coordinatie"), PUBLIC.may_see("werkplaats")
(True, True, False)
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from core.errors import ValidationError
from core.names import slugify
from core.store.types import Filter, MatchAny

OPENBAAR, WERKPLAATS, COORDINATIE = "openbaar", "werkplaats", "coordinatie"
ATELIER = "atelier:"
FIELD = "visibility"  # the payload key on passages and document records
LABELS = {OPENBAAR: "Openbaar", WERKPLAATS: "Leden van de Werkplaats", COORDINATIE: "Alleen coördinatoren"}
# the words people write in front matter for each level
_SAID = {"openbaar": OPENBAAR, "public": OPENBAAR, "iedereen": OPENBAAR,
         "werkplaats": WERKPLAATS, "leden": WERKPLAATS, "members": WERKPLAATS, "intern": WERKPLAATS,
         "coordinatie": COORDINATIE, "coordinatoren": COORDINATIE, "coordinators": COORDINATIE,
         "vertrouwelijk": COORDINATIE}


def parse_visibility(value: str, ateliers: Collection[str]) -> str:
    """The visibility as people write it (``Openbaar``, ``leden``, ``atelier: Kansrijk met jeugd``, an
    atelier's slug alone), or a ``ValidationError`` that lists the choices. ``ateliers``: the atelier slugs."""
    text = str(value).strip()
    head, colon, rest = text.partition(":")
    said = _SAID.get(slugify(text))
    if said:
        return said
    slug = slugify(rest) if colon and slugify(head) in ("atelier", "leeratelier") else slugify(text)
    if slug in ateliers:
        return ATELIER + slug
    raise ValidationError(f"Onbekende zichtbaarheid {text!r}.", field=FIELD,
                          hint="Kies openbaar, werkplaats, coordinatie of atelier:<atelier>, bijvoorbeeld "
                               + ", ".join(ATELIER + a for a in sorted(ateliers)[:1]) + ".")


def label(visibility: str | None, atelier_names: dict[str, str] | None = None) -> str:
    """How a page names a visibility: "Openbaar", "Leden van Kansrijk met jeugd"."""
    if visibility and visibility.startswith(ATELIER):
        slug = visibility.removeprefix(ATELIER)
        return f"Leden van {(atelier_names or {}).get(slug, slug)}"
    return LABELS.get(visibility or OPENBAAR, visibility or "")


def choices(atelier_names: dict[str, str]) -> list[tuple[str, str]]:
    """Every visibility with its label, narrowest last, for a form.

    >>> [v for v, _ in choices({"kansrijk-met-jeugd": "Kansrijk met jeugd"})]
    ['openbaar', 'werkplaats', 'atelier:kansrijk-met-jeugd', 'coordinatie']
    """
    levels = [OPENBAAR, WERKPLAATS, *(ATELIER + slug for slug in atelier_names), COORDINATIE]
    return [(v, label(v, atelier_names)) for v in levels]


@dataclass(frozen=True)
class Audience:
    """Who a request is answered for: the public, a member (of some ateliers), or the coordinators."""

    everything: bool = False
    signed_in: bool = False
    ateliers: frozenset[str] = frozenset()

    def levels(self) -> tuple[str, ...] | None:
        """The visibilities this audience sees (None: all of them)."""
        if self.everything:
            return None
        if not self.signed_in:
            return (OPENBAAR,)
        return (OPENBAAR, WERKPLAATS, *(ATELIER + a for a in sorted(self.ateliers)))

    def filter(self) -> Filter | None:
        """The store filter that leaves out what this audience may not see (None: nothing left out)."""
        levels = self.levels()
        return None if levels is None else Filter(must=(MatchAny(FIELD, levels),))

    def may_see(self, visibility: str | None) -> bool:
        levels = self.levels()
        return levels is None or (visibility or OPENBAAR) in levels

    @property
    def key(self) -> str:
        """A name for caches of what this audience sees."""
        levels = self.levels()
        return "*" if levels is None else "|".join(levels)


PUBLIC = Audience()
COORDINATORS = Audience(everything=True)


def member(ateliers: Iterable[str] = ()) -> Audience:
    """A signed-in member of ``ateliers``."""
    return Audience(signed_in=True, ateliers=frozenset(ateliers))
