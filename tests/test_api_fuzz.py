"""Property-based run over the OpenAPI schema (schemathesis) against the live service, as a coordinator.

Every operation gets two rounds of generated requests:

- *free*: anything the schema allows. Schema-valid, but mostly meaningless to the service (ids that do not
  exist, unknown ateliers, impossible dates), so these mostly end in 4xx;
- *anchored*: generated the same way, then the parts the schema cannot express are pinned to values that
  exist in the store: document, expert, question and job ids, atelier and theme slugs, real dates, a real file
  upload. Ids that get deleted are throwaway ones made for this test (seeded below), never the demo corpus's.

Over more than 1,000 requests: no 5xx, no response outside the documented schema, every operation answers
2xx at least once, and at least a quarter of all requests get a 2xx.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from matching.agenda import LADDER
from matching.questions import ROLES
from service.audit import ACTIONS
from service.container import Kennismakelaar
from tests.conftest import live_server, make_settings, pristine_copy

pytestmark = pytest.mark.slow
COORD = {"Authorization": ""}  # a personal token, made for the live service below
FREE_EXAMPLES = 45  # per operation and round; 16 operations
ANCHORED_EXAMPLES = 45
MIN_2XX_SHARE = 0.25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
QUESTIONS = ["Hoe herstel je vertrouwen in een wijk waar projecten steeds kwamen en gingen?",
             "Wat werkt tegen schaamte bij jongeren met schulden?",
             "Hoe krijg je ouders in armoede aan tafel bij school?",
             "Hoe begeleid je statushouders naar een eigen horecabedrijf?"]
THROWAWAY_EXPERTS = [f"fuzz-wegwerp-{i}" for i in range(4)]  # made by the seed, changed by PUT, deleted by DELETE
THROWAWAY_DOCUMENTS = 3  # uploaded by the seed; only these are deleted
THROWAWAY_CONTACTS = 4  # contact requests made by the seed and deleted by DELETE
CLOSABLE = 3
PREVIEWABLE = 1  # a request "verbonden" that nothing closes: what closing it would publish can always be shown
MERGEABLE = 4  # duplicates made by the seed: each can be merged once, into the first seeded request


@dataclass(frozen=True)
class Seed:
    """Values that exist in the live store, for the anchored round."""

    ateliers: list[str]
    themes: list[str]
    question_ids: list[str]
    documents: list[str]  # the demo corpus: read, never deleted
    throwaway_documents: list[str]
    experts: list[str]
    jobs: list[str]
    contacts: list[str]  # contact requests: read and changed
    throwaway_contacts: list[str]
    closable: list[str]  # contact requests moved to "verbonden" by the seed: each can be closed once
    previewable: list[str]  # moved to "verbonden" too, and never closed
    meetings: list[str]
    throwaway_meetings: list[str]
    throwaway_coordinators: list[str]  # added by the seed through the API, removed by DELETE
    mergeable: list[str]  # duplicates of the first request: merged into it
    restrictable: list[str]  # an upload of its own, whose visibility the PATCH changes
    members: list[str]  # members made by the seed: moved and given links
    throwaway_members: list[str]  # removed by DELETE


@pytest.fixture(scope="module")
def live_url(samples_dir, tmp_path_factory) -> Iterator[str]:
    data = pristine_copy(samples_dir, tmp_path_factory.mktemp("fuzz") / "data")
    settings = make_settings(data, KM_ASK_PER_MINUTE="100000", KM_REQUESTS_PER_MINUTE="100000")
    km = Kennismakelaar(settings)  # as `kennismakelaar coordinator add` does, before the service starts
    try:
        _, token = km.coordinators().add("Fuzz Coördinator")
    finally:
        km.close()
    COORD["Authorization"] = f"Bearer {token}"
    with live_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def seed(live_url) -> Seed:
    """Ask, look up, upload and create through the API itself what the anchored round refers to."""
    with httpx.Client(base_url=live_url, headers=COORD, timeout=60) as c:
        taxonomy = _ok(c.get("/api/taxonomy"))
        question_ids = [_ok(c.post("/api/ask", json={"question": q}))["question_id"] for q in QUESTIONS[:2]]
        found = _ok(c.get("/api/search", params={"q": "wijk jongeren armoede samenwerken", "limit": 50}))
        people = _ok(c.get("/api/experts", params={"q": "wijk jongeren armoede samenwerken", "limit": 50}))
        for expert_id in THROWAWAY_EXPERTS:
            _ok(c.post("/api/experts", json={"id": expert_id, "name": f"Wegwerp {expert_id[-1]}"}))
        files = [("files", (f"fuzz-wegwerp-{i}.md", f"# Wegwerp {i}\n\nEen notitie om te verwijderen.\n".encode(),
                            "text/markdown")) for i in range(THROWAWAY_DOCUMENTS)]
        job = _ok(c.post("/api/documents", files=files, data={"metadata": json.dumps({"kind": "notitie"})}))
        contacts = [_ok(c.post("/api/contact-requests", json={
            "name": f"Vrager {i}", "email": f"vrager{i}@example.org", "message": "Graag contact.",
            "question_id": question_ids[0]}))["id"] for i in range(2 + THROWAWAY_CONTACTS + PREVIEWABLE + CLOSABLE)]
        members = [_ok(c.post("/api/members", json={"email": f"lid{i}@werkplaats.example",
                                                    "ateliers": [taxonomy["ateliers"][0]["slug"]]}))["id"]
                   for i in range(2 + 3)]
        restrictable = _ok(c.post("/api/documents", files=[("files", ("fuzz-zichtbaar.md", b"# Zichtbaar\n\nVoor "
                                                                       b"de zichtbaarheid.\n", "text/markdown"))]))
        duplicates = [_ok(c.post("/api/contact-requests", json={
            "name": "Vrager 0", "email": "vrager0@example.org", "message": "Graag contact (nog eens).",
            "question_id": question_ids[0]}))["id"] for _ in range(MERGEABLE)]
        meetings = [_ok(c.post("/api/meetings", json={"title": f"Bijeenkomst {i}", "date": "2027-01-15",
                                                      "step": "expertmeeting", "question_ids": question_ids[:1],
                                                      "k": 2}))["id"] for i in range(3)]
        coordinators = [_ok(c.post("/api/coordinators", json={"name": f"Wegwerp Coördinator {i}"}))["id"]
                        for i in range(3)]
        for request_id in contacts[-(CLOSABLE + PREVIEWABLE):]:
            for status in ("doorgestuurd", "verbonden"):
                _ok(c.patch(f"/api/contact-requests/{request_id}", json={"status": status}))
        deadline = time.monotonic() + 120
        while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            job = _ok(c.get(f"/api/jobs/{job['id']}"))
        while restrictable["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.2)
            restrictable = _ok(c.get(f"/api/jobs/{restrictable['id']}"))
    assert job["status"] == "done" and len(job["documents"]) == THROWAWAY_DOCUMENTS, job
    assert all(question_ids) and found["results"] and people["experts"]
    return Seed(ateliers=[a["slug"] for a in taxonomy["ateliers"]], themes=[t["slug"] for t in taxonomy["themes"]],
                question_ids=question_ids, documents=sorted({r["document_id"] for r in found["results"]}),
                throwaway_documents=job["documents"], experts=sorted({e["id"] for e in people["experts"]}),
                jobs=[job["id"]], contacts=contacts[:2], throwaway_contacts=contacts[2:2 + THROWAWAY_CONTACTS],
                previewable=contacts[2 + THROWAWAY_CONTACTS:-CLOSABLE], closable=contacts[-CLOSABLE:],
                meetings=meetings[:1], throwaway_meetings=meetings[1:],
                throwaway_coordinators=coordinators, mergeable=duplicates,
                restrictable=restrictable["documents"], members=members[:2], throwaway_members=members[2:])


def _ok(response: httpx.Response) -> Any:
    assert response.is_success, (response.request.method, response.request.url, response.text)
    return response.json()


def test_generated_requests_succeed_when_valid_never_5xx_and_follow_the_schema(live_url, seed):
    """Every operation in turn: a free round, then an anchored round (coordinator token on, to reach every
    route)."""
    schema = schemathesis.openapi.from_url(f"{live_url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    statuses: dict[str, dict[str, Counter[int]]] = {}  # operation -> round -> status code -> requests
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        anchor = ANCHORS[label](seed)  # a KeyError here: a new operation needs its anchor below
        rounds = {"free": (st.tuples(operation.as_strategy(), st.just({})), FREE_EXAMPLES),
                  "anchored": (operation.as_strategy().flatmap(anchor), ANCHORED_EXAMPLES)}
        for name, (strategy, examples) in rounds.items():
            _fuzz(strategy, examples, statuses.setdefault(label, {}).setdefault(name, Counter()))()

    per_operation = {label: sum(rounds.values(), Counter()) for label, rounds in statuses.items()}
    total = sum(sum(counts.values()) for counts in per_operation.values())
    succeeded = sum(n for counts in per_operation.values() for code, n in counts.items() if _ok_status(code))
    for label, rounds in statuses.items():
        print(f"{label:36}", "  ".join(f"{name} {dict(sorted(counts.items()))}" for name, counts in rounds.items()))
    print(f"schemathesis: {total} requests over {len(statuses)} operations, {succeeded / total:.0%} 2xx")
    assert total >= 1000, statuses
    never = [label for label, counts in per_operation.items() if not any(_ok_status(code) for code in counts)]
    assert not never, f"operations that never answered 2xx: {never}"
    assert succeeded / total >= MIN_2XX_SHARE, f"only {succeeded} of {total} requests got a 2xx"


ROLE_EXAMPLES = 8  # per operation and role: anchored cases only


def test_as_the_public_and_as_a_member_every_operation_follows_the_schema_and_coordinators_own_stay_shut(
        live_url, seed):
    """The same operations, anchored, without the coordinator's token: as anyone, and as a signed-in member. No
    5xx, every answer in the schema, and what is for coordinators (its summary says so) never answers 2xx."""
    with httpx.Client(base_url=live_url, headers=COORD, timeout=60) as c:
        member_id = _ok(c.post("/api/members", json={"email": "fuzzlid@werkplaats.example",
                                                    "ateliers": seed.ateliers[:1]}))["id"]
        link = _ok(c.post(f"/api/members/{member_id}/link"))["link"]
    path = link[link.index("/inloggen/"):]
    with httpx.Client(base_url=live_url, timeout=60) as browser:
        browser.get(path)
        browser.post(path, data={"_csrf_token": browser.cookies.get("km_csrf", "")})
        member_cookie = browser.cookies.get("km_lid")
    assert member_cookie
    schema = schemathesis.openapi.from_url(f"{live_url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    for role, headers in (("public", {}), ("member", {"Cookie": f"km_lid={member_cookie}"})):
        opened: list[str] = []
        answered: dict[str, Counter[int]] = {}
        for operation in operations:
            label = f"{operation.method.upper()} {operation.path}"
            strategy = operation.as_strategy().flatmap(ANCHORS[label](seed))
            _fuzz(strategy, ROLE_EXAMPLES, answered.setdefault(label, Counter()), headers)()
            if "(coördinator)" in str(operation.definition.raw.get("summary", "")) and any(
                    _ok_status(code) for code in answered[label]):
                opened.append(label)
        print(role, {label: dict(counts) for label, counts in answered.items()})
        assert opened == [], f"as {role}, coordinators' operations answered 2xx: {opened}"
        public = [label for label in answered if label in ("POST /api/ask", "GET /api/search", "GET /api/experts")]
        assert all(any(_ok_status(code) for code in answered[label]) for label in public), answered


def _ok_status(code: int) -> bool:
    return 200 <= code < 300


def _fuzz(strategy: st.SearchStrategy, examples: int, counts: Counter[int],
          headers: dict[str, str] | None = None) -> Callable[[], None]:
    """A hypothesis test over ``strategy`` (cases with extra transport arguments), sent with ``headers`` (by
    default the coordinator's token); built in a function so each closure keeps its own strategy."""
    headers = COORD if headers is None else headers

    @given(drawn=strategy)
    @settings(max_examples=examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
              database=None)
    def run(drawn) -> None:
        case, transport = drawn
        response = case.call(headers=headers, **transport)
        counts[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs=transport)

    return run


# --- anchors: per operation, from a generated case to a strategy of (case, transport arguments) --------------

Anchor = Callable[[Any], st.SearchStrategy]
TEXT = st.one_of(st.sampled_from(QUESTIONS),
                 st.text(st.characters(categories=["L", "N", "P", "Zs"]), min_size=1, max_size=300)
                 .filter(str.strip))
DATES = st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat)
PAST = st.dates(dt.date(1990, 1, 1), dt.date(2020, 12, 31)).map(dt.date.isoformat)


def _some(values: list[str], max_size: int = 2) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), max_size=max_size, unique=True)


def _optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


def _set(container: dict[str, Any] | None, values: dict[str, Any]) -> dict[str, Any]:
    """``container`` with ``values`` put in; a ``None`` value takes the key out (an optional left away)."""
    out = {**(container or {}), **values}
    return {k: v for k, v in out.items() if v is not None}


def _with(case: Any, *, path: dict[str, Any] | None = None, query: dict[str, Any] | None = None,
          body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> tuple[Any, dict[str, Any]]:
    if headers is not None:
        case.headers = _set(case.headers, headers)
    if path is not None:
        case.path_parameters = _set(case.path_parameters, path)
    if query is not None:
        case.query = _set(case.query, query)
    if body is not None:
        # The service refuses fields it does not know (400); the schema does not say so, and generates them.
        declared = case.operation.get_body_for_media_type(case.media_type).resolved_schema["properties"]
        generated = case.body if isinstance(case.body, dict) else {}
        case.body = _set({k: v for k, v in generated.items() if k in declared}, body)
    return case, {}


def _path(name: str, values: list[str]) -> Anchor:
    return lambda case: st.sampled_from(values).map(lambda v: _with(case, path={name: v}))


def _unchanged(case: Any) -> st.SearchStrategy:
    return st.just((case, {}))


def _ask(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "question": TEXT, "atelier": _optional(st.sampled_from(seed.ateliers)),
        "role": _optional(st.sampled_from(ROLES))}).map(lambda body: _with(case, body=body))


def _search(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "q": TEXT, "atelier": _some(seed.ateliers), "theme": _some(seed.themes),
        "from": _optional(DATES), "to": _optional(DATES)}).map(lambda query: _with(case, query=query))


def _experts(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "q": TEXT, "atelier": _optional(st.sampled_from(seed.ateliers))}).map(lambda query: _with(case, query=query))


def _feedback(seed: Seed) -> Anchor:
    # what an answer can show: a document, a person who may be shown, or (the whole answer) the question itself
    def on(question_id: str) -> st.SearchStrategy[dict[str, Any]]:
        return st.one_of(st.fixed_dictionaries({"type": st.just("document"), "id": st.sampled_from(seed.documents)}),
                         st.fixed_dictionaries({"type": st.just("expert"), "id": st.sampled_from(seed.experts)}),
                         st.just({"type": "answer", "id": question_id})).map(
            lambda item: {"question_id": question_id, **item})

    return lambda case: st.sampled_from(seed.question_ids).flatmap(on).map(lambda body: _with(case, body=body))


def _panels(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "topic": TEXT, "cover_ateliers": _some(seed.ateliers), "exclude": _some(seed.experts),
        "min_roles": st.dictionaries(st.sampled_from(ROLES), st.integers(0, 3), max_size=2),
    }).map(lambda body: _with(case, body=body))


ROLE_NAMES = st.sampled_from(["", "onderzoeker", "professional", "lector"])
ORGANIZATIONS = st.sampled_from(["", "Zuyd Hogeschool", "Gemeente Heerlen"])


def _new_expert(seed: Seed) -> Anchor:
    """Someone new, under an id of their own (an id drawn twice: 409, the one profile there is stays)."""
    return lambda case: st.fixed_dictionaries({
        "n": st.integers(1, 10**6), "role": ROLE_NAMES, "organization": ORGANIZATIONS,
        "ateliers": _some(seed.ateliers), "themes": _some(seed.themes), "expertise": st.one_of(st.just(""), TEXT),
        "email": st.one_of(st.just(""), EMAILS), "consent": st.booleans(), "recreate_removed": st.booleans(),
    }).map(lambda body: _with(case, body={**{k: v for k, v in body.items() if k != "n"},
                                          "id": f"fuzz-nieuw-{body['n']}", "name": f"Nieuw {body['n']}"}))


def _save_expert(seed: Seed) -> Anchor:
    """The whole profile (a PUT replaces it), over whatever version is stored now (``If-Match: *``)."""
    return lambda case: st.fixed_dictionaries({
        "path": st.fixed_dictionaries({"expert_id": st.sampled_from(THROWAWAY_EXPERTS)}),
        "body": st.fixed_dictionaries({"name": st.sampled_from(["Wegwerp", "Wegwerp Twee"]), "role": ROLE_NAMES,
                                       "organization": ORGANIZATIONS, "ateliers": _some(seed.ateliers),
                                       "themes": _some(seed.themes), "expertise": st.one_of(st.just(""), TEXT),
                                       "email": st.one_of(st.just(""), EMAILS), "consent": st.booleans()}),
    }).map(lambda parts: _with(case, **parts, headers={"If-Match": "*"}))


EMAILS = st.from_regex(r"[a-z][a-z0-9.]{0,20}@[a-z]{2,12}\.(nl|org|com)", fullmatch=True)
STATUSES = ["nieuw", "doorgestuurd", "verbonden", "afgewezen", "afgerond"]


def _contact(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "name": st.sampled_from(["Sara Bakker", "Ahmed Yilmaz"]), "email": EMAILS, "message": TEXT,
        "expert_id": _optional(st.sampled_from(seed.experts)),
        "question_id": _optional(st.sampled_from(seed.question_ids))}).map(lambda body: _with(case, body=body))


def _contact_list(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "status": _optional(st.sampled_from(STATUSES)), "atelier": _optional(st.sampled_from(seed.ateliers)),
    }).map(lambda query: _with(case, query=query))


def _contact_change(seed: Seed) -> Anchor:
    """A note, and now and then a step along the path (most steps from a random status are refused: 400)."""
    return lambda case: st.fixed_dictionaries({
        "path": st.fixed_dictionaries({"request_id": st.sampled_from(seed.contacts)}),
        "body": st.fixed_dictionaries({"note": TEXT, "status": st.one_of(st.none(), st.none(),
                                                                         st.sampled_from(STATUSES))}),
    }).map(lambda parts: _with(case, **parts))


def _forward(seed: Seed) -> Anchor:
    """No mail server in this run: a forward answers with the message to copy (200, ``sent`` false)."""
    return lambda case: st.fixed_dictionaries({
        "path": st.fixed_dictionaries({"request_id": st.sampled_from(seed.contacts)}),
        "body": st.fixed_dictionaries({"expert_id": st.sampled_from(seed.experts), "cc_asker": st.booleans(),
                                       "note": st.one_of(st.just(""), TEXT)}),
    }).map(lambda parts: _with(case, **parts))


def _close(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "path": st.fixed_dictionaries({"request_id": st.sampled_from(seed.closable)}),
        "body": st.fixed_dictionaries({"answered": st.booleans(), "outcome": TEXT, "themes": _some(seed.themes)}),
    }).map(lambda parts: _with(case, **parts))


def _preview(seed: Seed) -> Anchor:
    """What closing would publish: a request still "verbonden", in the coordinator's words."""
    return lambda case: st.fixed_dictionaries({
        "path": st.fixed_dictionaries({"request_id": st.sampled_from(seed.previewable)}),
        "body": st.fixed_dictionaries({"answered": st.just(True), "outcome": TEXT, "question": TEXT,
                                       "themes": _some(seed.themes)}),
    }).map(lambda parts: _with(case, **parts))


def _merge(seed: Seed) -> Anchor:
    """A duplicate into the first seeded request (by its number, as the asker quotes it); merged once, a
    duplicate answers 400 after."""
    return lambda case: st.fixed_dictionaries({
        "path": st.fixed_dictionaries({"request_id": st.sampled_from(seed.mergeable)}),
        "body": st.fixed_dictionaries({"into": st.just(seed.contacts[0][:8])}),
    }).map(lambda parts: _with(case, **parts))


LEVELS = ["openbaar", "werkplaats", "coordinatie", "atelier:kansrijk-met-jeugd"]


def _visibility(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "path": st.fixed_dictionaries({"document_id": st.sampled_from(seed.restrictable)}),
        "body": st.fixed_dictionaries({"visibility": st.sampled_from(LEVELS)}),
    }).map(lambda parts: _with(case, **parts))


def _new_member(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({"email": EMAILS, "ateliers": _some(seed.ateliers)}).map(
        lambda body: _with(case, body=body))


def _move_member(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "path": st.fixed_dictionaries({"member_id": st.sampled_from(seed.members)}),
        "body": st.fixed_dictionaries({"ateliers": _some(seed.ateliers)}),
    }).map(lambda parts: _with(case, **parts))


def _forget_asker(seed: Seed) -> Anchor:
    """Addresses no seeded request has (those are read and changed by the other operations)."""
    return lambda case: st.fixed_dictionaries({
        "email": EMAILS.filter(lambda e: not e.startswith("vrager")), "withdraw_findings": st.booleans(),
    }).map(lambda query: _with(case, query=query))


def _availability(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        # demo people (the throwaway ones are deleted before this runs); a day past and a cap above any load
        # leave them available to the operations after this one
        "path": st.fixed_dictionaries({"expert_id": st.sampled_from(seed.experts)}),
        "body": st.fixed_dictionaries({"unavailable_until": _optional(PAST), "max_per_month": _optional(
            st.integers(1, 100))}),
    }).map(lambda parts: _with(case, **parts, headers={"If-Match": "*"}))


def _overview(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "period": st.sampled_from(["maand", "kwartaal", "jaar"]),
        "atelier": _optional(st.sampled_from(seed.ateliers))}).map(lambda query: _with(case, query=query))


def _audit(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "action": _optional(st.sampled_from(list(ACTIONS))),
        "coordinator": _optional(st.sampled_from(["fuzz-coordinator", "gedeelde-sleutel", "opdrachtregel"])),
        "since": _optional(PAST), "until": _optional(st.sampled_from(["2030-12-31"]))}).map(
            lambda query: _with(case, query={k: v for k, v in query.items() if v is not None}))


def _meeting(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "title": st.sampled_from(["Expertmeeting", "Werkplaats over schulden"]), "date": DATES,
        "step": st.sampled_from(list(LADDER)), "ateliers": _some(seed.ateliers),
        "question_ids": _some(seed.question_ids), "k": st.integers(1, 4)}).map(lambda body: _with(case, body=body))


def _new_coordinator(seed: Seed) -> Anchor:
    return lambda case: st.integers(1, 10**6).map(
        lambda n: _with(case, body={"name": f"Nieuwe Coördinator {n}"}))


UPLOAD_NAMES = st.tuples(st.from_regex(r"[a-z0-9][a-z0-9-]{0,30}", fullmatch=True),
                         st.sampled_from([("md", "text/markdown"), ("txt", "text/plain")]))


def _upload(seed: Seed) -> Anchor:
    """The schema declares the multipart body as a free object, without a file part: the file goes in as a
    transport argument (the generated body is not sent then)."""
    def files(name: tuple[str, tuple[str, str]], content: str) -> list[tuple[str, tuple[str, bytes, str]]]:
        (stem, (ext, media_type)) = name
        return [("files", (f"fuzz-{stem}.{ext}", content.encode(), media_type))]

    metadata = st.fixed_dictionaries({}, optional={
        "kind": st.sampled_from(["notitie", "verslag"]), "ateliers": _some(seed.ateliers),
        "themes": _some(seed.themes), "date": DATES}).map(json.dumps)
    return lambda case: st.fixed_dictionaries({
        "files": st.builds(files, UPLOAD_NAMES, st.text(min_size=1, max_size=400)),
        "data": st.fixed_dictionaries({"metadata": metadata}),
    }).map(lambda transport: (case, transport))


def _browse(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "atelier": _some(seed.ateliers), "theme": _some(seed.themes),
        "kind": _some(["verslag", "interventie", "onderzoek"]), "year": _some(["2023", "2024", "2025"]),
        "sort": st.sampled_from(["date", "title", "added"]), "page": st.integers(1, 3),
        "since": _optional(PAST)}).map(lambda query: _with(case, query=query))


def _citations(seed: Seed) -> Anchor:
    return lambda case: st.fixed_dictionaries({
        "id": st.lists(st.sampled_from(seed.documents), min_size=1, max_size=3, unique=True),
    }).map(lambda query: _with(case, query=query))


def _forget_follower(seed: Seed) -> Anchor:
    return lambda case: EMAILS.map(lambda email: _with(case, query={"email": email}))


ANCHORS: dict[str, Callable[[Seed], Anchor]] = {
    "POST /api/ask": _ask,
    "GET /api/search": _search,
    "GET /api/browse": _browse,
    "GET /api/citations": _citations,
    "GET /api/citations.ris": _citations,
    "GET /api/citations.bib": _citations,
    "GET /api/citations.txt": _citations,
    "GET /api/follows": lambda seed: _unchanged,
    "DELETE /api/follows": _forget_follower,
    "GET /api/experts": _experts,
    "POST /api/feedback": _feedback,
    "POST /api/panels": _panels,
    "GET /api/agenda": lambda seed: _unchanged,
    "GET /api/taxonomy": lambda seed: _unchanged,
    "GET /api/jobs/{job_id}": lambda seed: _path("job_id", seed.jobs),
    # not ".../file" (the original file): its PDF, HTML, ... responses are not in the schema, which has JSON only
    "GET /api/documents/{document_id}": lambda seed: _path("document_id", seed.documents),
    "DELETE /api/documents/{document_id}": lambda seed: _path("document_id", seed.throwaway_documents),
    "POST /api/experts": _new_expert,
    "GET /api/experts/{expert_id}": lambda seed: _path("expert_id", seed.experts),
    "PUT /api/experts/{expert_id}": _save_expert,
    "DELETE /api/experts/{expert_id}": lambda seed: _path("expert_id", THROWAWAY_EXPERTS),
    "GET /health": lambda seed: _unchanged,
    "GET /ready": lambda seed: _unchanged,
    "POST /api/documents": _upload,
    "POST /api/contact-requests": _contact,
    "GET /api/contact-requests": _contact_list,
    "GET /api/contact-requests/{request_id}": lambda seed: _path("request_id", seed.contacts),
    "PATCH /api/contact-requests/{request_id}": _contact_change,
    "DELETE /api/contact-requests/{request_id}": lambda seed: _path("request_id", seed.throwaway_contacts),
    "POST /api/contact-requests/{request_id}/forward": _forward,
    "POST /api/contact-requests/{request_id}/close": _close,
    "POST /api/contact-requests/{request_id}/preview": _preview,
    "POST /api/contact-requests/{request_id}/merge": _merge,
    "PATCH /api/documents/{document_id}": _visibility,
    "GET /api/members": lambda seed: _unchanged,
    "POST /api/members": _new_member,
    "PATCH /api/members/{member_id}": _move_member,
    "DELETE /api/members/{member_id}": lambda seed: _path("member_id", seed.throwaway_members),
    "POST /api/members/{member_id}/link": lambda seed: _path("member_id", seed.members),
    "DELETE /api/contact-requests": _forget_asker,
    "GET /api/contact-requests/{request_id}/suggestions": lambda seed: _path("request_id", seed.contacts),
    "GET /api/experts/{expert_id}/availability": lambda seed: _path("expert_id", seed.experts),
    "PUT /api/experts/{expert_id}/availability": _availability,
    "GET /api/overview": _overview,
    "GET /api/overview.csv": _overview,
    "GET /api/audit": _audit,
    "GET /api/audit.csv": _audit,
    "POST /api/meetings": _meeting,
    "GET /api/meetings": lambda seed: _unchanged,
    "GET /api/meetings/{meeting_id}": lambda seed: _path("meeting_id", seed.meetings),
    "DELETE /api/meetings/{meeting_id}": lambda seed: _path("meeting_id", seed.throwaway_meetings),
    "GET /api/coordinators": lambda seed: _unchanged,
    "POST /api/coordinators": _new_coordinator,
    "DELETE /api/coordinators/{coordinator_id}": lambda seed: _path("coordinator_id", seed.throwaway_coordinators),
}
