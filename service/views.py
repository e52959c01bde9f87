"""Read models of the service: a document and a person as the API and the pages show them.

The web pages build on these (not on route modules), so both speak of a document or a person the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from core.errors import NotFoundError, ValidationError
from core.glossary import label
from core.names import name_variants
from core.store.types import Filter, MatchAny
from core.visibility import COORDINATORS, FIELD, OPENBAAR, PUBLIC, Audience
from service import schemas as s
from service.citations import Reference
from service.container import Kennismakelaar


def servable_file(record: dict[str, Any], uploads: Path, *, coordinator: bool) -> Path | None:
    """The original file of a document, if it may be served: it still exists, it is no symlink, it lies
    inside the folder it was ingested from or the uploads folder, and it does not name a person removed on
    request — to nobody, coordinators included: the original outside the uploads folder still names them, and
    what is left of one inside it is redacted text the document's page already shows. (``coordinator`` is
    kept for files a later rule may open to coordinators only.)"""
    if record.get("file_withheld"):
        return None
    raw = Path(record.get("path", ""))
    if not raw.is_absolute() or raw.is_symlink() or not raw.is_file():
        return None
    real = raw.resolve()
    if real != raw:  # a symlink somewhere along the path
        return None
    roots = [Path(record.get("root", "")).resolve(), uploads.resolve()]
    return real if any(real.is_relative_to(r) for r in roots if str(r) != "/") else None


def visible_document(km: Kennismakelaar, document_id: str, audience: Audience) -> dict[str, Any]:
    """A document's record, if ``audience`` may see it; else the very error of a document that does not exist
    (``core.visibility``: for them it does not)."""
    record = km.catalog().document(document_id)
    if record is None or not audience.may_see(record.get(FIELD)):
        raise NotFoundError(f"Document {document_id!r} bestaat niet.")
    return record


def document_view(km: Kennismakelaar, document_id: str, *, audience: Audience,
                  uploads: Path | None = None) -> s.DocumentOut:
    doc_id = document_id.lstrip("/")
    catalog = km.catalog()
    record = visible_document(km, doc_id, audience)
    people = []
    if record.get("people"):
        linked = catalog.experts(filter=Filter.where(keys=record["people"]),
                                 fields=["expert_id", "name", "role", "visibility"])
        people = [s.PersonOut(id=e["expert_id"], name=e["name"], role=e.get("role", "")) for e in linked
                  if e.get("visibility") == "public"]
    passages = [s.PassageOut(index=c["chunk_index"], text=c["text"], section=c.get("section", []), page=c.get("page"))
                for c in catalog.chunks_of(doc_id, record.get("content_hash"))]
    return s.DocumentOut(
        document_id=doc_id, title=record.get("title", ""), kind=record.get("kind", ""),
        ateliers=record.get("ateliers", []), themes=record.get("themes", []),
        ateliers_inferred=bool(record.get("ateliers_inferred")), themes_inferred=bool(record.get("themes_inferred")),
        date=record.get("date"), source=record.get("source", ""), format=record.get("format", ""),
        url=record.get("url"), pages=record.get("pages"), people=people, passages=passages,
        has_file=servable_file(record, uploads or km.settings.store.data_dir / "files",
                               coordinator=audience.everything) is not None,
        knowledge=record.get("knowledge") or [], knowledge_inferred=bool(record.get("knowledge_inferred")),
        evidence=record.get("evidence"), target_groups=record.get("target_groups") or [],
        working_elements=record.get("working_elements") or [], visibility=record.get(FIELD) or OPENBAAR,
        evidence_assessor=shown_name(km, record["evidence_assessor"]) if record.get("evidence_assessor") else None,
        **{k: record.get(k) for k in ("evidence_date", "evidence_reason", "summary")})


MAX_CITED = 200  # documents in one exported selection


def references(km: Kennismakelaar, document_ids: Sequence[str], audience: Audience) -> list[Reference]:
    """How to cite each document, in the order given; a document ``audience`` may not see is the 404 of one that
    does not exist. Authors are named as ``shown_name`` allows; nobody left: the Werkplaats is the author."""
    if len(document_ids) > MAX_CITED:
        raise ValidationError(f"Hooguit {MAX_CITED} documenten tegelijk.", field="id")
    records = [visible_document(km, d.lstrip("/"), audience) for d in dict.fromkeys(document_ids)]
    public_url = km.settings.service.public_url
    publisher = km.settings.service.werkplaats_name
    out = []
    for r in records:
        authors = [shown for a in r.get("authors") or [] if (shown := shown_name(km, a))]
        kind = r.get("kind") or ""
        out.append(Reference(
            title=r.get("title") or r["document_id"], document_id=r["document_id"], authors=authors,
            date=r.get("date"), kind="" if kind in PLAIN_KINDS else label("soort", kind), publisher=publisher,
            url=r.get("url") or (f"{public_url.rstrip('/')}/documenten/{quote(r['document_id'])}"
                                 if public_url else None),
            summary=r.get("summary"),
            keywords=[km.taxonomy.name_of(t) for t in [*(r.get("ateliers") or []), *(r.get("themes") or [])]]))
    return out


def shown_name(km: Kennismakelaar, name: str) -> str | None:
    """A name from a document's metadata as it may be shown: a registered person by their profile's name if they
    consented, and not at all if they did not — in any form the name takes ("A. de Vries", "De Vries, Anna",
    "dr. Anna de Vries"); an id nobody (any longer) has, not at all; anyone else (an author from outside, a body)
    as written."""
    known = _people_by_variant(km)
    variants = name_variants(_plain_name(name))
    people = {known[v] for v in variants if v in known}
    if any(not public for _, public in people):
        return None
    if people:
        return sorted(people)[0][0]
    return None if _ID.fullmatch(name.strip()) else name.strip()


_TITLES = re.compile(r"^(?:(?:dr|prof|drs|ir|mr|ing|dhr|mevr|mw)\.?\s+)+", re.IGNORECASE)


def _plain_name(name: str) -> str:
    """A name without titles, given name first: "dr. Anna de Vries", "Vries, Anna de" → "Anna de Vries"."""
    plain = _TITLES.sub("", name.strip())
    if "," in plain:
        surname, _, given = plain.partition(",")
        plain = f"{given.strip()} {surname.strip()}"
    return plain


def _people_by_variant(km: Kennismakelaar) -> dict[str, tuple[str, bool]]:
    """Every registered person under each form of their name and id: (their name, whether they may be shown);
    remembered while the store does not change."""
    memo = km.catalog().memo("people by variant")
    if "map" not in memo:
        out: dict[str, tuple[str, bool]] = {}
        for e in km.catalog().experts(fields=["expert_id", "name", "visibility"]):
            public = e.get("visibility") == "public"
            for form in (e.get("name") or "", e["expert_id"]):
                for v in name_variants(form):
                    # a form two people share is shown only if both may be
                    out[v] = (e.get("name") or "", public and out.get(v, ("", True))[1])
        memo["map"] = out
    return memo["map"]


_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
PLAIN_KINDS = {"rapport", "document", "onderzoek"}  # APA describes no routine work between brackets


def profile_view(km: Kennismakelaar, expert_id: str, *, coordinator: bool,
                 audience: Audience | None = None) -> s.ExpertProfileOut:
    """A person's profile with the documents that name them — those ``audience`` may see (by default: those
    the public may see, or all of them for a coordinator)."""
    audience = audience or (COORDINATORS if coordinator else PUBLIC)
    catalog = km.catalog()
    expert = catalog.expert(expert_id) if coordinator else catalog.public_expert(expert_id)
    if expert is None:
        raise NotFoundError(f"Expert {expert_id!r} bestaat niet of is niet openbaar.")
    docs = [{"document_id": d["document_id"], "title": d.get("title", ""), "date": d.get("date") or ""}
            for d in catalog.documents(filter=Filter(must=(MatchAny("people", tuple(expert["keys"])),)).and_(
                audience.filter()), fields=["document_id", "title", "date"])]
    docs.sort(key=lambda d: d["date"], reverse=True)
    return s.ExpertProfileOut(
        id=expert["expert_id"], name=expert["name"], role=expert.get("role", ""),
        organization=expert.get("organization", ""), ateliers=expert.get("ateliers", []),
        themes=expert.get("themes", []), expertise=expert.get("expertise", ""), documents=docs,
        consent=expert.get("consent") if coordinator else None,
        # a coordinator edits the whole profile (a PUT replaces it): they see the address, consent or not
        email=(expert.get("email") or None) if coordinator else None)


# what the public directory may show of a person: never contact details, consent or matching keys
DIRECTORY_FIELDS = ("expert_id", "name", "role", "organization", "ateliers", "themes", "expertise")


def directory(km: Kennismakelaar, *, atelier: str | None = None,
              role: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The public directory: people who consented, by surname (of one atelier or role when asked), and every
    role among them (for the filter)."""
    public = Filter.where(visibility="public")
    flt = public
    if atelier:
        flt = flt.and_(Filter.where(ateliers=km.taxonomy.resolve_atelier(atelier) or atelier))
    if role:
        flt = flt.and_(Filter.where(role=role))
    catalog = km.catalog()
    people = sorted(catalog.experts(filter=flt, fields=DIRECTORY_FIELDS), key=by_surname)
    roles = sorted({e["role"] for e in catalog.experts(filter=public, fields=["role"]) if e.get("role")})
    return people, roles


def by_surname(person: dict[str, Any]) -> str:
    """Sort key for people: the last word of the name (a blank name sorts first instead of failing)."""
    return (person.get("name", "").split() or [""])[-1]

