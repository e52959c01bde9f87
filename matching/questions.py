"""The question log behind the knowledge agenda: what was asked, how well the store answered, feedback.

Stored per question: the text, its vector, the time, the atelier, the best passage similarity and —
when given — the asker's role. Nothing else about the asker. Old questions go after the retention period.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from ingestion.store.catalog import QUESTIONS, Catalog
from ingestion.store.types import Filter, Point, Range
from service.errors import NotFoundError, ValidationError

ROLES = ("professional", "student", "onderzoeker", "docent", "beleidsmaker", "coordinator", "ervaringsdeskundige",
         "anders")
_MAX_FEEDBACK = 200


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class QuestionLog:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._feedback = threading.Lock()

    def record(self, text: str, vector: np.ndarray, *, atelier: str | None, atelier_inferred: bool,
               best_score: float, role: str | None = None, asked_at: dt.datetime | None = None) -> str:
        if role is not None and role not in ROLES:
            raise ValidationError(f"Onbekende rol {role!r}.", hint="Kies uit: " + ", ".join(ROLES) + ".",
                                  field="role")
        question_id = str(uuid.uuid4())
        when = asked_at or now()
        self.catalog.store.upsert(QUESTIONS, [Point(question_id, {
            "question_id": question_id, "text": text, "asked_at": when.isoformat(timespec="seconds"),
            "atelier": atelier, "atelier_inferred": atelier_inferred, "best_score": round(float(best_score), 4),
            "role": role, "helpful": 0, "unhelpful": 0, "feedback": [], "status": "open",
        }, dense={"dense": vector})])
        return question_id

    def get(self, question_id: str) -> dict[str, Any]:
        try:
            key = str(uuid.UUID(question_id))
        except ValueError:
            raise NotFoundError(f"Vraag {question_id!r} bestaat niet.") from None
        found = self.catalog.store.retrieve(QUESTIONS, [key])
        if not found:
            raise NotFoundError(f"Vraag {question_id!r} bestaat niet (of is verlopen).")
        return found[0].payload

    def feedback(self, question_id: str, *, item_type: str, item_id: str, helpful: bool) -> dict[str, Any]:
        """Record one helpful/unhelpful mark on a result of a question."""
        if item_type not in ("document", "expert", "answer"):
            raise ValidationError("type is 'document', 'expert' of 'answer'.", field="type")
        with self._feedback:  # read, change, write: two marks at once must not lose one
            question = self.get(question_id)
            entries = [f for f in question.get("feedback", []) if (f["type"], f["id"]) != (item_type, item_id)]
            entries.append({"type": item_type, "id": item_id, "helpful": helpful,
                            "at": now().isoformat(timespec="seconds")})
            entries = entries[-_MAX_FEEDBACK:]
            update = {"feedback": entries, "helpful": sum(f["helpful"] for f in entries),
                      "unhelpful": sum(not f["helpful"] for f in entries)}
            self.catalog.store.set_payload(QUESTIONS, update, ids=[question_id])
        return {**question, **update}

    def all(self, *, since: str | None = None, with_vectors: bool = False) -> list[dict[str, Any]]:
        flt = Filter(must=(Range("asked_at", gte=since),)) if since else None
        out = []
        for hit in self.catalog.store.scroll(QUESTIONS, filter=flt, with_vectors=with_vectors):
            row = dict(hit.payload)
            if with_vectors:
                row["_vector"] = np.asarray(hit.dense, dtype=np.float32)
            out.append(row)
        return out

    def purge(self, retention_days: int) -> int:
        """Delete questions older than the retention period; returns how many went."""
        cutoff = (now() - dt.timedelta(days=retention_days)).date().isoformat()
        old = Filter(must=(Range("asked_at", lte=_day_before(cutoff)),))
        n = self.catalog.store.count(QUESTIONS, filter=old)
        if n:
            self.catalog.store.delete(QUESTIONS, filter=old)
        return n

    def delete(self, question_ids: Sequence[str]) -> None:
        self.catalog.store.delete(QUESTIONS, ids=list(question_ids))


def _day_before(iso_day: str) -> str:
    return (dt.date.fromisoformat(iso_day) - dt.timedelta(days=1)).isoformat()
