"""The coordinator's overview (issue 10): per period and atelier, what was asked and how well it was answered,
contact requests and their outcomes, time to connection, meetings held, and the themes that recur.

Reading (``overview``) is kept apart from counting (``aggregate``, a function over plain lists of dicts), so the
counting can be tested without a store. The overview holds counts and question texts only — never a person's
name: question texts are already stored without the names of people removed on request, and nothing of a
contact request but its dates, status and atelier is read.

Periods are calendar buckets of the UTC timestamps the store keeps:

>>> [bucket_of("2026-05-31T23:30:00+00:00", p) for p in PERIODS]
['2026-05', '2026-Q2', '2026']
>>> following("2026-12", "maand"), following("2026-Q4", "kwartaal"), following("2026", "jaar")
('2027-01', '2027-Q1', '2027')
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core.errors import ValidationError
from core.store.ledger import Ledger
from core.store.types import Filter, MatchAny, Range
from matching.agenda import cluster_vectors, is_open
from matching.filters import parse_date
from matching.questions import QuestionLog
from service.contacts import STATUSES
from service.container import Kennismakelaar
from service.follows import REACHED
from service.validation import check_slug

PERIODS = ("maand", "kwartaal", "jaar")
THEMES = 5  # the largest recurring themes shown
THEME_MIN_SIZE = 2  # a theme "recurs" when at least two questions share it


@dataclass
class Bucket:
    """The counts of one period (or of the whole selection: ``period == "totaal"``)."""

    period: str
    questions: int = 0
    answered_well: int = 0
    answered_poorly: int = 0
    contact_requests: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    answered_by_contact: int = 0  # requests a coordinator closed as answered
    connected: int = 0  # requests that reached "verbonden" (whatever their status now)
    median_days_to_connection: float | None = None
    meetings_held: int = 0
    followers_reached: int = 0  # messages that told a follower what the Werkplaats learnt (``service.following``)


@dataclass
class Theme:
    """A recurring theme: a cluster of alike questions, with the question nearest its centre."""

    representative: str
    size: int
    ateliers: dict[str, int]
    periods: dict[str, int]
    first_asked: str
    last_asked: str


@dataclass
class Overview:
    period: str
    atelier: str | None
    since: str | None
    until: str | None
    answer_threshold: float
    buckets: list[Bucket]
    total: Bucket
    themes: list[Theme]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


MAX_PERIODS = 1200  # a century of months: more is a typing error in a date


def bucket_of(timestamp: str, period: str) -> str:
    """The period label of an ISO date or timestamp: ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY``."""
    year, month = timestamp[:4], int(timestamp[5:7])
    if period == "maand":
        return f"{year}-{month:02d}"
    if period == "kwartaal":
        return f"{year}-Q{(month - 1) // 3 + 1}"
    return year


def following(label: str, period: str) -> str:
    """The period after ``label`` (to fill the gaps between periods with data)."""
    year = int(label[:4])
    if period == "maand":
        month = int(label[5:7])
        return f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    if period == "kwartaal":
        quarter = int(label[6])
        return f"{year + quarter // 4:04d}-Q{quarter % 4 + 1}"
    return f"{year + 1:04d}"


def answered_well(question: Mapping[str, Any], threshold: float) -> bool:
    """Answered well: not open on the agenda (``matching.agenda.is_open``) — closed through a contact request
    or a meeting, marked helpful more often than unhelpful, or judged answered when it was asked and not marked
    unhelpful more often.

    >>> answered_well({"best_score": 0.9, "helpful": 0, "unhelpful": 0}, 0.85)
    True
    >>> answered_well({"best_score": 0.5, "helpful": 2, "unhelpful": 1}, 0.85)
    True
    >>> answered_well({"best_score": 0.9, "helpful": 0, "unhelpful": 1}, 0.85)
    False
    >>> answered_well({"best_score": 0.5, "closed_by": "meeting:m1"}, 0.85)
    True
    """
    return not is_open(question, threshold)


def aggregate(questions: Sequence[Mapping[str, Any]], requests: Sequence[Mapping[str, Any]],
              meetings: Sequence[Mapping[str, Any]], *, period: str = "maand", threshold: float,
              similarity: float, atelier: str | None = None, since: str | None = None,
              until: str | None = None, reached: Mapping[str, int] | None = None,
              asked: Mapping[str, tuple[int, int]] | None = None) -> Overview:
    """The overview of plain records (question log, contact requests, meetings), already validated arguments.

    ``since`` and ``until`` are inclusive ISO dates; questions count by ``asked_at``, requests by
    ``created_at`` (with everything that happened to them since), meetings by ``date``; ``reached``: per month
    (``YYYY-MM``) of the selection, how many messages reached a follower (``reached_per_month``; they belong to
    no atelier, so they count only without one). ``asked``, when given,
    is what the engine counted of the questions per month (``asked_per_month``: asked, answered well); then
    ``questions`` are only where the recurring themes are found.

    >>> qs = [{"question_id": "a", "text": "Schulden?", "asked_at": "2026-01-05T10:00:00+00:00",
    ...        "atelier": "x", "best_score": 0.9, "helpful": 0, "unhelpful": 0, "_vector": np.array([1.0, 0.0])},
    ...       {"question_id": "b", "text": "Schulden bij jongeren?", "asked_at": "2026-02-01T10:00:00+00:00",
    ...        "atelier": "x", "best_score": 0.5, "helpful": 0, "unhelpful": 0, "_vector": np.array([1.0, 0.01])}]
    >>> rs = [{"created_at": "2026-01-06T09:00:00+00:00", "verbonden_at": "2026-01-08T21:00:00+00:00",
    ...        "status": "afgerond", "atelier": "x", "answered": True}]
    >>> ms = [{"date": "2026-02-10", "status": "gehouden", "ateliers": ["x", "y"]},
    ...       {"date": "2026-02-11", "status": "gepland", "ateliers": ["x"]}]
    >>> o = aggregate(qs, rs, ms, threshold=0.85, similarity=0.9)
    >>> [(b.period, b.questions, b.answered_well, b.answered_poorly, b.connected, b.meetings_held) for b in o.buckets]
    [('2026-01', 1, 1, 0, 1, 0), ('2026-02', 1, 0, 1, 0, 1)]
    >>> o.total.median_days_to_connection, o.total.by_status["afgerond"], o.total.answered_by_contact
    (2.5, 1, 1)
    >>> [(t.size, t.periods) for t in o.themes]
    [(2, {'2026-01': 1, '2026-02': 1})]
    >>> aggregate(qs, rs, ms, threshold=0.85, similarity=0.9, atelier="y").total.questions
    0
    """

    def chosen(day: str | None, ateliers: Iterable[str | None]) -> bool:
        if not day:
            return False
        day = day[:10]
        return ((since is None or day >= since) and (until is None or day <= until)
                and (atelier is None or atelier in ateliers))

    chosen_questions = [q for q in questions if chosen(q.get("asked_at"), [q.get("atelier")])]
    made = [r for r in requests if chosen(r.get("created_at"), [r.get("atelier")])]
    held = [m for m in meetings if m.get("status") == "gehouden" and chosen(m.get("date"), m.get("ateliers") or [])]

    buckets: dict[str, Bucket] = {}
    total = Bucket("totaal")

    def count(label: str) -> list[Bucket]:
        return [buckets.setdefault(label, Bucket(label)), total]

    counted: dict[str, tuple[int, int]] = dict(asked) if asked is not None else {}
    if asked is None:
        for q in chosen_questions:
            n, well = counted.get(q["asked_at"][:7], (0, 0))
            counted[q["asked_at"][:7]] = (n + 1, well + answered_well(q, threshold))
    for month, (n, well) in counted.items():
        for b in count(bucket_of(month, period)):
            b.questions += n
            b.answered_well += well
            b.answered_poorly += n - well
    waits: dict[str, list[float]] = {}
    for r in made:
        label = bucket_of(r["created_at"], period)
        wait = _days_between(r["created_at"], r.get("verbonden_at"))
        for b in count(label):
            b.contact_requests += 1
            b.by_status[r.get("status", "nieuw")] = b.by_status.get(r.get("status", "nieuw"), 0) + 1
            b.answered_by_contact += bool(r.get("answered"))
            b.connected += bool(r.get("verbonden_at"))
            if wait is not None:
                waits.setdefault(b.period, []).append(wait)
    for m in held:
        for b in count(bucket_of(m["date"], period)):
            b.meetings_held += 1
    for month, n in (reached or {}).items() if atelier is None else ():
        for b in count(bucket_of(month, period)):
            b.followers_reached += n
    for b in [*buckets.values(), total]:
        if waits.get(b.period):
            b.median_days_to_connection = round(statistics.median(waits[b.period]), 1)

    return Overview(period=period, atelier=atelier, since=since, until=until, answer_threshold=threshold,
                    buckets=_contiguous(buckets, period), total=total,
                    themes=recurring_themes(chosen_questions, similarity=similarity, period=period))


def recurring_themes(questions: Sequence[Mapping[str, Any]], *, similarity: float, period: str = "maand",
                     limit: int = THEMES) -> list[Theme]:
    """The largest clusters of alike questions (at least two), largest and then newest first; questions
    carry ``_vector``. Every question counts here, answered or not: a theme recurs either way."""
    with_vector = [q for q in questions if q.get("_vector") is not None]
    if len(with_vector) < THEME_MIN_SIZE:
        return []
    vectors = np.vstack([np.asarray(q["_vector"], dtype=np.float32) for q in with_vector])
    # cluster_vectors takes cosine as a dot product: unit length, whatever the store gave back
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    themes = []
    for members in cluster_vectors(vectors, similarity):
        if len(members) < THEME_MIN_SIZE:
            continue
        group = [with_vector[i] for i in members]
        centre = vectors[members].mean(axis=0)
        medoid = group[int(np.argmax(vectors[members] @ centre))]
        dates = sorted(q["asked_at"] for q in group)
        themes.append(Theme(
            representative=str(medoid.get("text", "")), size=len(group),
            ateliers=dict(Counter(q.get("atelier") or "onbekend" for q in group).most_common()),
            periods=dict(sorted(Counter(bucket_of(q["asked_at"], period) for q in group).items())),
            first_asked=dates[0], last_asked=dates[-1]))
    themes.sort(key=lambda t: t.last_asked, reverse=True)
    themes.sort(key=lambda t: t.size, reverse=True)  # stable: the newest first among equals
    return themes[:limit]


def overview(km: Kennismakelaar, *, period: str = "maand", atelier: str | None = None, since: str | None = None,
             until: str | None = None) -> Overview:
    """The overview of everything in the store, checked arguments first (a ``ValidationError`` names the field:
    ``period``, ``atelier``, ``since`` or ``until``)."""
    period = check_period(period)
    atelier = check_slug(km, atelier, "atelier", "atelier")
    since, until = parse_date(since, "since"), parse_date(until, "until")
    if since and until and since > until:
        raise ValidationError("De einddatum ligt vóór de begindatum.", field="until")
    m = km.settings.matching
    catalog = km.catalog()
    log = km.broker().questions
    selection = _selection(atelier, since, until)
    # the questions are counted in the engine and their themes found among the newest: five years of questions
    # cost what a month's do (benchmarks.growth)
    return aggregate(log.recent(limit=THEMES_CLUSTERED, filter=selection), catalog.contact_requests(),
                     catalog.meetings(), period=period, threshold=m.answer_threshold, similarity=m.agenda_similarity,
                     atelier=atelier, since=since, until=until,
                     reached=reached_per_month(catalog.ledger, since, until) if atelier is None else None,
                     asked=asked_per_month(log, selection, m.answer_threshold))


THEMES_CLUSTERED = 1000  # the newest questions of the selection that the recurring themes are found among


def _selection(atelier: str | None, since: str | None, until: str | None) -> Filter | None:
    must: list[Any] = [MatchAny("atelier", (atelier,))] if atelier else []
    if since or until:
        must.append(Range("asked_at", gte=since, lte=until))
    return Filter(must=tuple(must)) if must else None


def asked_per_month(log: QuestionLog, selection: Filter | None, threshold: float) -> dict[str, tuple[int, int]]:
    """Per month: how many questions of the selection were asked, and how many of them were answered well
    (``answered_well``: not open) — counted in the engine, feedback included (``matching.questions``)."""
    asked = Counter({str(k): n for k, n in log.catalog.question_facet("month", filter=selection, limit=100_000)})
    open_ = log.open_per("month", threshold, selection)
    return {month: (n, n - open_[month]) for month, n in asked.items() if n and month}


def reached_per_month(ledger: Ledger, since: str | None, until: str | None) -> dict[str, int]:
    """Per month (UTC) from ``since`` to ``until`` (days, inclusive), how many messages reached a follower —
    counted in the engine a month at a time: five years cost sixty counts, however many messages there were."""
    span = ledger.span(REACHED)
    if span is None:
        return {}
    # the span only says which months to count: an ``at`` read back from the engine may land a microsecond off,
    # so the counts' bounds are the months' and the chosen days' own
    first, last = (dt.datetime.fromtimestamp(at, dt.UTC) for at in span)
    first, last = first - dt.timedelta(seconds=1), last + dt.timedelta(seconds=1)
    low = _utc_day(since) if since else None
    after = _utc_day(until) + dt.timedelta(days=1) if until else None  # the window is [since, after)
    counts = {}
    for month in months(max(first, low or first), min(last, after or last)):
        start, stop = _utc_day(f"{month}-01"), _utc_day(f"{following(month, 'maand')}-01")
        n = ledger.tally_window(REACHED, max(start, low or start).timestamp(), min(stop, after or stop).timestamp())
        if n:
            counts[month] = n
    return counts


def months(start: dt.datetime, end: dt.datetime) -> list[str]:
    """The months (``YYYY-MM``) from the one of ``start`` to the one of ``end``.

    >>> months(dt.datetime(2026, 11, 20, tzinfo=dt.UTC), dt.datetime(2027, 1, 3, tzinfo=dt.UTC))
    ['2026-11', '2026-12', '2027-01']
    """
    out, month = [], bucket_of(start.isoformat(), "maand")
    while month <= bucket_of(end.isoformat(), "maand"):
        out.append(month)
        month = following(month, "maand")
    return out


def _utc_day(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T00:00:00+00:00")


def check_period(value: str | None) -> str:
    """``maand`` (the default), ``kwartaal`` or ``jaar``.

    >>> check_period(""), check_period("Kwartaal")
    ('maand', 'kwartaal')
    """
    period = (value or "maand").strip().lower()
    if period not in PERIODS:
        raise ValidationError(f"Onbekende periode {value!r}.", hint="Kies uit: " + ", ".join(PERIODS) + ".",
                              field="period")
    return period


COLUMNS: tuple[tuple[str, str], ...] = (
    ("period", "periode"), ("questions", "vragen"), ("answered_well", "goed beantwoord"),
    ("answered_poorly", "onvoldoende beantwoord"), ("contact_requests", "contactverzoeken"),
    *((f"status:{s}", f"status {s}") for s in STATUSES),
    ("answered_by_contact", "beantwoord via contact"), ("connected", "in contact gebracht"),
    ("median_days_to_connection", "mediaan dagen tot verbinding"), ("meetings_held", "bijeenkomsten gehouden"),
    ("followers_reached", "volgers bereikt"))
"""The CSV's columns: (field of ``Bucket``, Dutch header)."""


def to_csv(data: Overview) -> str:
    """One row per period, with Dutch headers (comma-separated, for the API and the page alike).

    >>> text = to_csv(Overview("jaar", None, None, None, 0.85, [Bucket("2026", questions=3)], Bucket("totaal"), []))
    >>> header, row = text.splitlines()
    >>> header.split(",")[:5], header.split(",")[-1]
    (['periode', 'vragen', 'goed beantwoord', 'onvoldoende beantwoord', 'contactverzoeken'], 'volgers bereikt')
    >>> row
    '2026,3,0,0,0,0,0,0,0,0,0,0,,0,0'
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for _, header in COLUMNS])
    for b in data.buckets:
        writer.writerow([_cell(b, name) for name, _ in COLUMNS])
    return out.getvalue()


CSV_MEDIA_TYPE = "text/csv"  # Litestar adds "; charset=utf-8" to text types


def download_headers(data: Overview) -> dict[str, str]:
    """The CSV as a download named after its selection (the atelier is a slug, the dates are checked ISO dates).

    >>> download_headers(Overview("maand", "kansrijk-met-jeugd", "2026-01-01", None, 0.85, [], Bucket("totaal"), []))
    {'Content-Disposition': 'attachment; filename="overzicht-maand-kansrijk-met-jeugd-2026-01-01.csv"'}
    """
    parts = ["overzicht", data.period, data.atelier, data.since, data.until]
    return {"Content-Disposition": f'attachment; filename="{"-".join(p for p in parts if p)}.csv"'}


def _cell(bucket: Bucket, name: str) -> Any:
    if name.startswith("status:"):
        return bucket.by_status.get(name.removeprefix("status:"), 0)
    value = getattr(bucket, name)
    return "" if value is None else value


def _days_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    try:
        seconds = (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):  # a record written by hand, or a naive and an aware time
        return None
    return max(seconds, 0.0) / 86400


def _contiguous(buckets: dict[str, Bucket], period: str) -> list[Bucket]:
    """The buckets from the first to the last with data, empty periods in between included (a chart's axis)."""
    if not buckets:
        return []
    labels = sorted(buckets, key=lambda x: (len(x), x))  # "10000-01" after "9999-12"
    out: list[Bucket] = []
    label = labels[0]
    while (len(label), label) <= (len(labels[-1]), labels[-1]):
        if len(out) >= MAX_PERIODS:  # a date typed wrong spans centuries: the periods with data, no gaps filled
            return [buckets[x] for x in labels]
        out.append(buckets.get(label) or Bucket(label))
        label = following(label, period)
    return out
