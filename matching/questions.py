"""The question log behind the knowledge agenda: what was asked, how well the store answered, feedback.

Stored per question: the text, its vector, the time, the atelier, the best passage similarity and —
when given — the asker's role. Nothing else about the asker. Old questions go after the retention period.
Feedback marks are records of their own (``Catalog.mark``): never a read-modify-write of the question.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.errors import NotFoundError, ValidationError
from core.store.catalog import Catalog
from core.store.types import DENSE, Filter, MatchAny, Point, Range
from core.visibility import FIELD as VISIBILITY
from core.visibility import PUBLIC, Audience

_NOT_SHOWN = {
    "document": "Dit document is niet getoond bij deze vraag: geef feedback op een document uit het antwoord.",
    "expert": "Deze persoon is niet getoond bij deze vraag: geef feedback op iemand uit het antwoord.",
    "answer": "Feedback op het hele antwoord geeft als id de id van deze vraag.",
}
ROLES = ("professional", "student", "onderzoeker", "docent", "beleidsmaker", "coordinator", "ervaringsdeskundige",
         "anders")


CLOSED = (MatchAny("closed", ("ja",)),)  # a meeting or a contact request closed it (``Catalog.close_questions``)
TURNED = (MatchAny("feedback", ("open", "answered")),)  # its marks say otherwise than the judgement


def open_filters(threshold: float) -> tuple[Filter, ...]:
    """The open questions (``matching.agenda.is_open``) as three disjoint filters the engine counts and picks by:
    reopened by feedback; judged not answered, feedback silent; kept before the judgement, best passage below
    ``threshold``, feedback silent (``core.store.catalog.question_fields``)."""
    return (Filter(must=(MatchAny("feedback", ("open",)),), must_not=CLOSED),
            Filter(must=(MatchAny("judged", ("open",)),), must_not=CLOSED + TURNED),
            Filter(must=(MatchAny("judged", ("legacy",)), Range("best_score", lt=threshold)),
                   must_not=CLOSED + TURNED))


def missing(slug: str) -> Filter:
    """Questions whose answer found no knowledge of kind ``slug`` and that nothing closed since."""
    return Filter(must=(MatchAny("missing_knowledge", (slug,)),), must_not=CLOSED)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class QuestionLog:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def record(self, text: str, vector: np.ndarray, *, atelier: str | None, atelier_inferred: bool,
               best_score: float, role: str | None = None, asked_at: dt.datetime | None = None,
               missing: Sequence[str] = (), answered: bool | None = None, confidence: float | None = None,
               audience: str | None = None) -> str:
        """Keep a question for the agenda; ``missing``: the kinds of knowledge its answer found nothing of;
        ``answered``: the broker's judgement whether the Werkplaats knows the answer (``confidence``: how sure;
        ``matching.answerability``)."""
        if role is not None and role not in ROLES:
            raise ValidationError(f"Onbekende rol {role!r}.", hint="Kies uit: " + ", ".join(ROLES) + ".",
                                  field="role")
        question_id = str(uuid.uuid4())
        when = asked_at or now()
        self.catalog.add_question(question_id, {
            "question_id": question_id, "text": text, "asked_at": when.isoformat(timespec="seconds"),
            "atelier": atelier, "atelier_inferred": atelier_inferred, "best_score": round(float(best_score), 4),
            "role": role, "status": "open", "missing_knowledge": list(missing),
            **({"answered": bool(answered)} if answered is not None else {}),
            **({"confidence": round(float(confidence), 4)} if confidence is not None else {}),
            # whom the judgement was made for (``Audience.key``): for anyone else the page judges again
            **({"audience": audience} if audience is not None else {}),
        }, vector)
        return question_id

    def rewrite(self, question_id: str, text: str, vector: np.ndarray) -> None:
        """Give a stored question another text and its vector (a name taken out after the write); a question
        deleted meanwhile stays deleted. The text it had leaves the store's files too: the removal that named it
        may have rewritten them already, before this write."""
        with self.catalog.erasing("questions"):
            stored = self.catalog.question(question_id)
            if stored is not None:
                self.catalog.rewrite_questions([Point(question_id, {**stored, "text": text},
                                                      dense={DENSE: vector})])

    def get(self, question_id: str) -> dict[str, Any]:
        """A question with its feedback marks and their counts."""
        question = self._get(question_id)
        marks = self.catalog.marks(question["question_id"])
        return {**question, "feedback": marks, "helpful": sum(m["helpful"] for m in marks),
                "unhelpful": sum(not m["helpful"] for m in marks)}

    def _get(self, question_id: str) -> dict[str, Any]:
        try:
            key = str(uuid.UUID(question_id))
        except ValueError:
            raise NotFoundError(f"Vraag {question_id!r} bestaat niet.") from None
        found = self.catalog.question(key)
        if found is None:
            raise NotFoundError(f"Vraag {question_id!r} bestaat niet (of is verlopen).")
        return found

    def feedback(self, question_id: str, *, item_type: str, item_id: str, helpful: bool,
                 audience: Audience = PUBLIC) -> dict[str, Any]:
        """Record one helpful/unhelpful mark on a result of a question (marking again replaces the mark): a
        document that exists and ``audience`` may see (else: as if it did not exist), a person who may be shown,
        or (``answer``) the question's own id."""
        if item_type not in ("document", "expert", "answer"):
            raise ValidationError("type is 'document', 'expert' of 'answer'.", field="type")
        if not item_id or len(item_id) > 500:
            raise ValidationError("id ontbreekt of is te lang.", field="id")
        question = self._get(question_id)
        if not self._could_show(question["question_id"], item_type, item_id, audience):
            raise ValidationError(_NOT_SHOWN[item_type], field="id")
        self.catalog.mark(question["question_id"], item_type, item_id, helpful)
        return self.get(question["question_id"])

    def _could_show(self, question_id: str, item_type: str, item_id: str, audience: Audience) -> bool:
        # The question keeps no list of what its answer showed (the page recomputes it when the store changed), so
        # "could have been shown" is the bound: a made-up id would count as a mark on the agenda and be stored
        # as free text where a removal never looks (feedback is an ids-only kind of the ledger).
        if item_type == "answer":
            return item_id == question_id
        if item_type == "document":
            record = self.catalog.document(item_id)
            return record is not None and audience.may_see(record.get(VISIBILITY))
        return self.catalog.public_expert(item_id) is not None

    def all(self, *, since: str | None = None, with_vectors: bool = False) -> list[dict[str, Any]]:
        """Every question (asked since ``since``) with its feedback counts."""
        flt = Filter(must=(Range("asked_at", gte=since),)) if since else None
        helpful: Counter[str] = Counter()
        unhelpful: Counter[str] = Counter()
        for m in self.catalog.marks():
            (helpful if m["helpful"] else unhelpful)[m["question_id"]] += 1
        out = []
        for hit in self.catalog.questions(filter=flt, with_vectors=with_vectors):
            row = dict(hit.payload)
            row["helpful"], row["unhelpful"] = helpful[row["question_id"]], unhelpful[row["question_id"]]
            if with_vectors:
                row["_vector"] = np.asarray(hit.dense, dtype=np.float32)
            out.append(row)
        return out

    def recent(self, *, limit: int, filter: Filter | None = None) -> list[dict[str, Any]]:
        """The ``limit`` newest questions ``filter`` lets through, newest first, with their vectors (``_vector``) and
        feedback counts — picked, ordered and counted in the engine: a page of the log costs the page."""
        return self.rows(self.catalog.newest_questions(limit=limit, filter=filter, with_vectors=True))

    def open_recent(self, threshold: float, *, limit: int) -> list[dict[str, Any]]:
        """The ``limit`` newest open questions (``matching.agenda.is_open``), newest first, with their vectors."""
        from matching.agenda import is_open

        # the newest of each kind of open by their dates alone, then the vectors of the newest of all only
        picked = [h for flt in open_filters(threshold)
                  for h in self.catalog.newest_questions(limit=limit, filter=flt, fields=["asked_at"])]
        newest = sorted(picked, key=lambda h: h.payload["asked_at"], reverse=True)[:limit]
        rows = self.rows(self.catalog.questions_by_id([h.id for h in newest], with_vectors=True))
        open_ = [r for r in rows if is_open(r, threshold)]  # the marks read again: one may have come meanwhile
        return sorted(open_, key=lambda r: r["asked_at"], reverse=True)

    def count(self, filter: Filter | None = None) -> int:
        return self.catalog.count_questions(filter=filter)

    def open_count(self, threshold: float, within: Filter | None = None) -> int:
        """How many questions are open (``within`` a selection), counted in the engine."""
        return sum(self.count(f.and_(within)) for f in open_filters(threshold))

    def open_per(self, key: str, threshold: float, within: Filter | None = None) -> Counter[str]:
        """Open questions per value of ``key`` (``month`` or ``month_atelier``), counted in the engine."""
        out: Counter[str] = Counter()
        for flt in open_filters(threshold):
            for value, n in self.catalog.question_facet(key, filter=flt.and_(within), limit=100_000):
                out[str(value)] += n
        return out

    def open_per_month(self, threshold: float) -> dict[str, dict[str, int]]:
        """Open questions per month and atelier: the agenda's chart."""
        out: dict[str, dict[str, int]] = {}
        for value, n in self.open_per("month_atelier", threshold).items():
            month, _, atelier = value.partition("|")
            if month:
                out.setdefault(month, {})[atelier or "onbekend"] = n
        return dict(sorted(out.items()))

    def rows(self, hits: Sequence[Any]) -> list[dict[str, Any]]:
        """Stored questions as rows: payload, feedback counts (of these only), ``_vector`` when read."""
        helpful: Counter[str] = Counter()
        unhelpful: Counter[str] = Counter()
        for m in self.catalog.marks_of([h.payload["question_id"] for h in hits]):
            (helpful if m["helpful"] else unhelpful)[m["question_id"]] += 1
        out = []
        for hit in hits:
            row = dict(hit.payload)
            row["helpful"], row["unhelpful"] = helpful[row["question_id"]], unhelpful[row["question_id"]]
            if hit.dense is not None:
                row["_vector"] = np.asarray(hit.dense, dtype=np.float32)
            out.append(row)
        return out

    def purge(self, retention_days: int) -> int:
        """Delete questions older than the retention period, their texts out of the store's files too (rewritten
        once, for all of them; not when none expired); returns how many went."""
        cutoff = (now() - dt.timedelta(days=retention_days)).date().isoformat()
        old = Filter(must=(Range("asked_at", lte=_day_before(cutoff)),))
        ids = [h.payload["question_id"] for h in self.catalog.questions(filter=old, fields=["question_id"])]
        if ids:
            with self.catalog.erasing("questions"):
                self.delete(ids)
        return len(ids)

    def delete(self, question_ids: Sequence[str]) -> None:
        self.catalog.delete_questions(question_ids)


def _day_before(iso_day: str) -> str:
    return (dt.date.fromisoformat(iso_day) - dt.timedelta(days=1)).isoformat()
