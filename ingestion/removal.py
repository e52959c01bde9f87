"""Removing a person on request, completely: from every place the store holds them.

What goes, in this order:
1. keyed markers (HMAC with the service's secret) of the person's id, name, initial form and e-mail
   address: written *first*, so an ingest that is running now sees them after its commit and scrubs again;
2. their name and id in every document's people, authors and participants, in titles, and in the target
   groups and working elements an intervention lists;
3. every passage, section heading, other person's profile text, asked question and upload report that
   names them: the name is replaced by "[naam verwijderd]" and the passage is embedded again (dense and
   BM25), so neither retriever finds it by the name; the vectors of the old texts leave the embedding cache;
4. feedback given on them, and their profile.
Documents that named them keep serving their passages (redacted) but no longer their original file.

The same scrub runs with markers only (no names) after an import and over a document ingested while a
removal ran (``Remover.scrub``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.bm25 import DutchBm25
from core.embedder import Embedder
from core.errors import NotFoundError
from core.headings import says_something
from core.models import Chunk
from core.names import email_key, name_key, name_variants, redact
from core.ordering import browse_keys
from core.store.catalog import Catalog
from core.store.types import DENSE, SPARSE, Filter, Point
from core.vector_codec import pack
from ingestion.records import FREE_TEXTS
from ingestion.titles import opening

Marked = Callable[[str], bool]
_BATCH = 64
_RETRIES = 5  # versioned writes that lose to a save are redone on what was saved, this often


@dataclass
class Scrubbed:
    documents: int = 0
    passages: int = 0
    questions: int = 0
    profiles: int = 0
    records: int = 0  # the ledger's records of the service: upload jobs, …

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class Remover:
    def __init__(self, catalog: Catalog, embedder: Embedder, bm25: DutchBm25,
                 profile_text: Callable[[dict[str, Any]], str]) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self.bm25 = bm25
        self.profile_text = profile_text

    def forget_person(self, expert_id: str, *, without_profile: bool = False) -> dict[str, int]:
        """Remove one person everywhere; returns what was touched (counts only, no names): ``profiles`` their own
        profile deleted (0 or 1), ``profiles_redacted`` other people's profiles that named them. ``without_profile``:
        someone whose profile is gone already (its file dropped them) is removed by their id, which is their
        name in slug form."""
        expert = self.catalog.expert(expert_id)
        if expert is None and not without_profile:
            raise NotFoundError(f"Expert {expert_id!r} bestaat niet.")
        keys = person_keys(expert or {"expert_id": expert_id, "name": expert_id})
        self.catalog.forget(sorted(keys))  # first: see the module's docstring
        self.catalog.unlink_person(expert_id)  # before the scrub, which would leave a "[naam verwijderd]" id
        done = self.scrub(keys.__contains__)
        if expert is not None:  # its vector would still stand for their profile in the embedding cache
            evict(self.embedder, [self.profile_text(expert)])
        self.catalog.delete_experts([expert_id])
        self.catalog.delete_feedback_on("expert", expert_id)
        # the scrub's own ``profiles`` counts other people's profiles it rewrote, not this one, which went
        summary = done.as_dict()
        summary["profiles_redacted"] = summary.pop("profiles")
        return {"profiles": int(expert is not None), **summary}

    def marked_by_markers(self, forgotten: frozenset[str] | None = None) -> Marked:
        """``is_marked`` for the stored markers (``Catalog.marked``)."""
        return self.catalog.marked(forgotten)

    def scrub(self, marked: Marked, documents: Sequence[str] | None = None) -> Scrubbed:
        """Take every marked name out of the store (of ``documents`` only, when given)."""
        done = Scrubbed()
        # passages first: their old texts (titles included) must be known to leave the embedding cache
        withheld = self._passages(marked, documents, done)
        withheld |= self._documents(marked, documents, done)
        for doc_id in withheld:
            self.catalog.withhold_file(doc_id)
        if documents is None:
            self._questions(marked, done)
            self._profiles(marked, done)
            self._records(marked, done)
        return done

    # --- the parts -----------------------------------------------------------------------------------

    def _documents(self, marked: Marked, only: Sequence[str] | None, done: Scrubbed) -> set[str]:
        touched = set()
        flt = Filter.where(document_id=list(only)) if only is not None else None
        made: dict[str, str] = {}
        for record in list(self.catalog.documents(filter=flt)):
            title = self._title(record, marked, made)
            clean: dict[str, Any] = {"people": [k for k in record.get("people", []) if not marked(k)],
                     "authors": [n for n in record.get("authors", []) if not marked(name_key(n))],
                     "participants": [n for n in record.get("participants", []) if not marked(name_key(n))],
                     "title": title,
                     # free texts an intervention carries may name someone, as any text may
                     **{k: [redact(t, marked)[0] for t in record.get(k) or []]
                        for k in ("target_groups", "working_elements")},
                     **{k: redact(record[k], marked)[0] for k in FREE_TEXTS if record.get(k)}}
            if any(clean[k] != (record.get(k) or ([] if isinstance(clean[k], list) else "")) for k in clean):
                clean.update(browse_keys(title, record.get("date"), clean["target_groups"]))
                if record.get("title_vector") and title != record.get("title"):
                    clean["title_vector"] = pack(self.embedder.embed_documents([title])[0]) \
                        if says_something(title) else None
                    evict(self.embedder, [record["title"]])
                self.catalog.update_document(record["document_id"], clean)
                touched.add(record["document_id"])
        done.documents += len(touched)
        return touched

    def _passages(self, marked: Marked, only: Sequence[str] | None, done: Scrubbed) -> set[str]:
        touched: set[str] = set()
        flt = Filter.where(document_id=list(only)) if only is not None else None
        batch: list[tuple[Any, dict[str, Any], set[str]]] = []
        made: dict[str, str] = {}
        for hit in self.catalog.scan_passages(filter=flt):
            p = hit.payload
            text, n_text = redact(p.get("text", ""), marked)
            title = self._title(p, marked, made)
            section = [redact(s, marked)[0] for s in p.get("section", [])]
            people = [k for k in p.get("people", []) if not marked(k)]
            if not (n_text or title != p.get("title", "") or section != p.get("section", [])
                    or people != p.get("people", [])):
                continue
            touched.add(p["document_id"])
            clean = {**p, "text": text, "title": title, "section": section}
            if Chunk.from_payload(clean).context_text() == Chunk.from_payload(p).context_text():
                # only the people it lists change: the embedded text and its vectors stay as they are
                self.catalog.relink_passage(hit.id, people)
                done.passages += 1
                continue
            old = Chunk.from_payload(p).embedded_texts()
            batch.append((hit, {**clean, "people": people}, old))
            if len(batch) >= _BATCH:
                self._rewrite_passages(batch)
                done.passages += len(batch)
                batch = []
        if batch:
            self._rewrite_passages(batch)
            done.passages += len(batch)
        return touched

    def _title(self, payload: dict[str, Any], marked: Marked, made: dict[str, str]) -> str:
        """A document's title without marked names. A title made from the text's first words is made again
        from its redacted first passage: cut at a word, it may hold part of a name ("… vertelde Jan") that
        redaction, which looks for whole names, would not see."""
        if not payload.get("title_from_text"):
            return redact(payload.get("title", ""), marked)[0]
        key = f"{payload['document_id']}\0{payload.get('content_hash', '')}"
        if key not in made:
            first = self.catalog.chunks_of(payload["document_id"], payload.get("content_hash"))[:1]
            made[key] = opening([redact(c.get("text", ""), marked)[0] for c in first]) or \
                redact(payload.get("title", ""), marked)[0]
        return made[key]

    def _rewrite_passages(self, batch: list[tuple[Any, dict[str, Any], set[str]]]) -> None:
        texts = [Chunk.from_payload(p).context_text() for _, p, _ in batch]
        vectors = self.embedder.embed_documents(texts)
        # written back onto what is stored *now*: a passage a commit made live (or deleted) meanwhile keeps
        # its state (or stays deleted); only the scrubbed fields and the vectors change
        now = self.catalog.passages([hit.id for hit, _, _ in batch])
        scrubbed = ("text", "title", "section", "people")
        self.catalog.rewrite_passages([
            Point(hit.id, {**now[hit.id], **{k: payload[k] for k in scrubbed}}, dense={DENSE: vectors[i]},
                  sparse={SPARSE: self.bm25.embed_document(texts[i])})
            for i, (hit, payload, _) in enumerate(batch) if hit.id in now])
        evict(self.embedder, sorted({t for _, _, old in batch for t in old}))

    def _questions(self, marked: Marked, done: Scrubbed) -> None:
        for hit in self.catalog.questions():
            text, n = redact(hit.payload.get("text", ""), marked)
            if n:
                self.catalog.rewrite_questions([Point(hit.id, {**hit.payload, "text": text},
                                                       dense={DENSE: self.embedder.embed_query(text)})])
                done.questions += 1

    def _profiles(self, marked: Marked, done: Scrubbed) -> None:
        for hit in self.catalog.profile_hits():
            if marked(name_key(hit.payload.get("expert_id", ""))) or marked(name_key(hit.payload.get("name", ""))):
                continue  # the person themselves: their profile is deleted
            p: dict[str, Any] | None = hit.payload
            # written over the version read; a coordinator's save in between wins, and the redaction is done
            # again on what they saved (a consent they withdrew meanwhile stays withdrawn)
            for _ in range(_RETRIES):
                if p is None:
                    break
                expertise, n = redact(p.get("expertise", ""), marked)
                if not n:
                    break
                payload = {**p, "expertise": expertise}
                text = self.profile_text(payload)
                vector = self.embedder.embed_documents([text])[0]
                if self.catalog.rewrite_profile(Point(hit.id, payload, dense={DENSE: vector},
                                                      sparse={SPARSE: self.bm25.embed_document(text)})):
                    evict(self.embedder, [self.profile_text(p)])  # the old text named them
                    done.profiles += 1
                    break
                p = self.catalog.expert(p.get("expert_id", ""))

    def _records(self, marked: Marked, done: Scrubbed) -> None:
        """The ledger's records of the service (upload jobs, and any later kind): every text, whatever its shape."""
        done.records += self.catalog.scrub_ledger(lambda text: redact(text, marked)[0])


def person_keys(expert: dict[str, Any]) -> set[str]:
    """Every key under which a person may be found: id, name (in full and with an initial), e-mail. (In texts
    only keys of two words or more are looked for: see ``core.names.redact``.)"""
    keys = {name_key(expert.get("expert_id", "")), *name_variants(expert.get("name", "")),
            *expert.get("keys", [])}
    if expert.get("email"):
        keys.add(email_key(expert["email"]))
    return {k for k in keys if k}


def evict(embedder: Embedder, texts: Sequence[str]) -> None:
    """Forget the cached vectors of ``texts``, when ``embedder`` keeps a cache."""
    evict = getattr(embedder, "evict", None)
    if evict is not None:
        evict(texts)
