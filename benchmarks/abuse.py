"""Abuse under load: every bad input and attack we try, what came back, and whether ordinary users were still
answered meanwhile (issue 8).

    python -m benchmarks.abuse [--keep]

Starts ``kennismakelaar serve`` (loopback only) on a copy of the ingested demo corpus, with coordinator tokens,
``KM_PARSE_TIMEOUT=5`` and ``KM_MAX_FILE_MB=5``. A *measurer* (its own process, so the attackers' threads do not
slow its clock) plays the ordinary users: a real Dutch search every 0.2 s, each from another address in the
documentation ranges 198.51.100.0/24 and 203.0.113.0/24 (X-Forwarded-For header values only, which uvicorn
trusts from 127.0.0.1; nothing but 127.0.0.1 is ever contacted). Attackers come from 192.0.2.0/24, one address
per attack; the rounds of bad requests in phases 5 and 6 each from a fresh address in 2001:db8::/32, so that
the per-client limits do not mix 429s into the answers we check. Phases, the measurer running throughout:

0. baseline, no attack;
1. login brute force: 300 wrong bearer tokens, then the right one, from one address; the same on the web form;
   then the locked-out address keeps guessing until the phase is 10 s old;
2. search flood from one address, 4 threads, 10 s;
3. ask flood (POST /api/ask), the same;
4. feedback flood (POST /api/feedback), the same;
5. deep paging, bad parameters and path tricks, in rounds for 10 s;
6. oversized and malformed JSON bodies to /api/ask, in rounds for 10 s;
7. hostile uploads by a coordinator: one job with a zip bomb, a DOCX that is no zip, a Markdown file that
   hangs the reader, billion-laughs front matter, a ``javascript:`` url, two files with one stored name, a
   Windows path and a ``../`` path as names, one good file; a file over KM_MAX_FILE_MB and an unsupported
   type in requests of their own.

Then: nothing lost (every demo document still there, the good upload searchable, no orphan passages).
Prints one block per phase, a Markdown table and a JSON line. The ingested demo store is cached under
``benchmarks/.data/abuse`` (the first run ingests it, a few minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.latency import QUESTIONS, percentile
from benchmarks.load import _wait_ready
from tests import docmaker  # the same hostile files as the tests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".data" / "abuse"
PRISTINE = CACHE / "samples-store"
TOKEN = "abuse-benchmark-token"
PARSE_TIMEOUT = 5
MAX_FILE_MB = 5
LOGIN_ATTEMPTS = 10  # the defaults, stated so the expectations below follow them
REQUESTS_PER_MINUTE = 120
ASK_PER_MINUTE = 20
MEASURE_EVERY = 0.2
FLOOD_SECONDS = 10.0
FLOOD_THREADS = 4
COORDINATOR_ADDRESS = "192.0.2.250"  # the honest coordinator
LAUGHS = 'lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 9)}]\n" for n in range(1, 9)) + "title: *lol8\n"


# --- the store and the server ----------------------------------------------------------------------------


def prepare() -> Path:
    """The demo corpus ingested once into ``benchmarks/.data/abuse`` (reused by later runs)."""
    done = CACHE / "samples-store.ok"
    if done.exists():
        return PRISTINE
    from service.container import Kennismakelaar
    from service.settings import Settings

    shutil.rmtree(PRISTINE, ignore_errors=True)
    PRISTINE.mkdir(parents=True)
    cache = HERE / ".data" / "latency-cache" / "embedding-cache.sqlite"  # the latency benchmark's, if it ran
    if cache.exists():
        shutil.copy(cache, PRISTINE / "embedding-cache.sqlite")
    print("ingesting the demo corpus once (cached in benchmarks/.data/abuse) ...", flush=True)
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(PRISTINE)}))
    report = km.ingestor().run([ROOT / "samples" / "documenten", ROOT / "samples" / "experts"])
    km.close()
    if not report.ok:
        raise SystemExit(f"the demo corpus did not ingest: {[o.message for o in report.failed]}")
    done.write_text("ok\n")
    return PRISTINE


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _document_ids(data: Path) -> tuple[list[str], list[str], int]:
    """(document ids, document id of every passage, passages the records claim) of a closed store."""
    from core.store.catalog import CHUNKS
    from service.container import Kennismakelaar
    from service.settings import Settings

    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
    catalog = km.catalog()
    records = list(catalog.documents())
    chunk_docs = [h.payload["document_id"] for h in catalog.store.scroll(CHUNKS, fields=["document_id"])]
    km.close()
    return [r["document_id"] for r in records], chunk_docs, sum(r["chunks"] for r in records)


# --- the measurer: ordinary users, in a process of its own ---------------------------------------------------


def user_address(i: int) -> str:
    return f"198.51.100.{i % 254 + 1}" if i % 2 == 0 else f"203.0.113.{i % 254 + 1}"


def measure(base: str, out: Path) -> None:
    """Search every MEASURE_EVERY seconds until SIGTERM; one JSON line per request: start, ms, status."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with httpx.Client(base_url=base, timeout=60) as http, out.open("a", encoding="utf-8") as f:
        i = 0
        while not stop.is_set():
            started_wall, started = time.time(), time.perf_counter()
            try:
                status = http.get("/api/search", params={"q": QUESTIONS[i % len(QUESTIONS)]},
                                  headers={"X-Forwarded-For": user_address(i)}).status_code
            except httpx.HTTPError as exc:
                status = f"{type(exc).__name__}"
            ms = (time.perf_counter() - started) * 1000
            f.write(json.dumps({"t": started_wall, "ms": round(ms, 2), "status": status}) + "\n")
            f.flush()
            i += 1
            stop.wait(max(0.0, MEASURE_EVERY - ms / 1000))


def read_measurements(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text("utf-8").splitlines():
        with contextlib.suppress(ValueError):  # a line cut off at SIGTERM
            rows.append(json.loads(line))
    return rows


# --- phases ----------------------------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    count: str
    outcome: str
    ok: bool  # the outcome we expect: a clear refusal (or the file in), nothing else
    expected: str = ""


@dataclass
class Phase:
    key: str
    name: str
    t0: float = 0.0
    t1: float = 0.0
    rows: list[Row] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    windows: list[tuple[str, float, float]] = field(default_factory=list)  # parts of the phase, measured apart
    cpu: dict[str, float] = field(default_factory=dict)


def codes(counter: Counter) -> str:
    return ", ".join(f"{code} ×{n}" for code, n in sorted(counter.items(), key=lambda kv: str(kv[0]))) or "-"


class Attack:
    """httpx clients that send from a given (documentation-range) address, recording every 5xx."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.server_errors: list[str] = []
        self.leaks: list[str] = []
        self._lock = threading.Lock()

    def client(self, address: str, **kw: Any) -> httpx.Client:
        headers = {"X-Forwarded-For": address, **kw.pop("headers", {})}
        return httpx.Client(base_url=self.base, timeout=kw.pop("timeout", 60), headers=headers, **kw)

    def send(self, http: httpx.Client, method: str, url: str, **kw: Any) -> httpx.Response | str:
        try:
            r = http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            with self._lock:
                self.server_errors.append(f"{method} {url[:60]}: {type(exc).__name__}")
            return type(exc).__name__
        if r.status_code >= 500:
            with self._lock:
                self.server_errors.append(f"{method} {url[:60]}: {r.status_code} {r.text[:120]}")
        if "root:x:0:0" in r.text or "KM_COORDINATOR_TOKENS=" in r.text or TOKEN in r.text:
            with self._lock:
                self.leaks.append(f"{method} {url[:60]}")
        return r


def status_of(r: httpx.Response | str) -> int | str:
    return r.status_code if isinstance(r, httpx.Response) else r


def flood(attack: Attack, address: str, request: Callable[[httpx.Client, int], httpx.Response | str],
          seconds: float = FLOOD_SECONDS, threads: int = FLOOD_THREADS,
          max_requests: int = 50_000) -> tuple[Counter, float | None]:
    """``threads`` clients from one address, as fast as they can, for ``seconds`` (at most ``max_requests``).
    Returns the status counts and the (wall) time the last 200 came back."""
    counts: Counter = Counter()
    last_ok: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    sent = iter(range(max_requests))

    def run() -> None:
        with attack.client(address) as http:
            while time.monotonic() < deadline:
                with lock:
                    i = next(sent, None)
                if i is None:
                    return
                status = status_of(request(http, i))
                with lock:
                    counts[status] += 1
                    if status == 200:
                        last_ok.append(time.time())

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return counts, max(last_ok, default=None)


def _split(p: Phase, last_ok: float | None) -> None:
    """Measure the flood apart while the attacker was still being served and once it only got 429s."""
    if last_ok is not None:
        p.windows = [("while the attacker's requests were served", p.t0, last_ok),
                     ("once it only got 429", last_ok, time.time())]


def phase_login(attack: Attack, p: Phase) -> None:
    attacker = "192.0.2.10"
    counts: Counter = Counter()
    with attack.client(attacker) as http:
        seq = [status_of(attack.send(http, "GET", "/api/agenda", headers={"Authorization": f"Bearer raden-{i:04d}"}))
               for i in range(300)]
        counts.update(seq)
        right = attack.send(http, "GET", "/api/agenda", headers={"Authorization": f"Bearer {TOKEN}"})
    expected = [403] * LOGIN_ATTEMPTS + [429] * (300 - LOGIN_ATTEMPTS)
    retry = right.headers.get("retry-after") if isinstance(right, httpx.Response) else None
    p.rows.append(Row("API: wrong bearer tokens (GET /api/agenda), one address", "300",
                      f"{codes(counts)} (403 for the first {seq.index(429) if 429 in seq else 'all'})",
                      seq == expected, f"403 ×{LOGIN_ATTEMPTS}, then 429"))
    p.rows.append(Row("API: then the right token, same address", "1",
                      f"{status_of(right)} (Retry-After {retry} s)", status_of(right) == 429, "429 while locked"))
    with attack.client(COORDINATOR_ADDRESS) as http:
        other = attack.send(http, "GET", "/api/agenda", headers={"Authorization": f"Bearer {TOKEN}"})
    p.rows.append(Row("API: the right token from the coordinator's own address", "1", f"{status_of(other)}",
                      status_of(other) == 200, "200 (lock-out is per client)"))

    web = "192.0.2.11"
    with attack.client(web, follow_redirects=False) as http:
        form = attack.send(http, "GET", "/coordinatie/inloggen")
        csrf = http.cookies.get("km_csrf")
        seq = [status_of(attack.send(http, "POST", "/coordinatie/inloggen",
                                     data={"token": f"gok-{i:03d}", "_csrf_token": csrf or ""}))
               for i in range(100)]
        right = attack.send(http, "POST", "/coordinatie/inloggen", data={"token": TOKEN, "_csrf_token": csrf or ""})
        no_csrf = attack.send(http, "POST", "/coordinatie/inloggen", data={"token": TOKEN})
    locked_text = isinstance(right, httpx.Response) and "Te veel mislukte pogingen" in right.text
    p.rows.append(Row("web form /coordinatie/inloggen: wrong tokens (CSRF cookie from a GET first), one address",
                      "1 GET + 100 POST", f"GET {status_of(form)}; POST {codes(Counter(seq))}",
                      status_of(form) == 200 and seq == [401] * LOGIN_ATTEMPTS + [429] * (100 - LOGIN_ATTEMPTS),
                      f"401 ×{LOGIN_ATTEMPTS}, then 429"))
    p.rows.append(Row("web form: then the right token, same address", "1",
                      f"{status_of(right)}{' (page says: Te veel mislukte pogingen)' if locked_text else ''}",
                      status_of(right) == 429 and locked_text, "429 while locked"))
    p.rows.append(Row("web form: the right token without the CSRF field", "1", f"{status_of(no_csrf)}",
                      status_of(no_csrf) == 403, "403 (CSRF)"))
    # a brute-forcer does not stop at the lock-out: the locked address keeps guessing until the phase is 10 s old
    counts = Counter()
    with attack.client(attacker) as http:
        while time.time() - p.t0 < FLOOD_SECONDS and sum(counts.values()) < 20_000:
            counts[status_of(attack.send(http, "GET", "/api/agenda",
                                         headers={"Authorization": f"Bearer nog-eens-{sum(counts.values())}"}))] += 1
    p.rows.append(Row("API: the locked-out address keeps guessing, one thread, until the phase is 10 s old",
                      str(sum(counts.values())), codes(counts), set(counts) <= {429}, "429"))


def _question_flood(attack: Attack, p: Phase, address: str, method: str, path: str, budget: int) -> None:
    """One address asks as fast as FLOOD_THREADS threads can: ``budget`` answers a minute, then 429."""
    def send(http: httpx.Client, i: int) -> httpx.Response | str:
        question = QUESTIONS[i % len(QUESTIONS)]
        if method == "GET":
            return attack.send(http, method, path, params={"q": question})
        return attack.send(http, method, path, json={"question": question})

    counts, last_ok = flood(attack, address, send)
    _split(p, last_ok)
    p.rows.append(Row(f"{method} {path}, one address, {FLOOD_THREADS} threads, {FLOOD_SECONDS:.0f} s",
                      str(sum(counts.values())), codes(counts), set(counts) <= {200, 429} and counts[200] <= budget,
                      f"≤{budget} ×200, then 429"))


def phase_search_flood(attack: Attack, p: Phase) -> None:
    _question_flood(attack, p, "192.0.2.20", "GET", "/api/search", REQUESTS_PER_MINUTE)


def phase_ask_flood(attack: Attack, p: Phase) -> None:
    _question_flood(attack, p, "192.0.2.30", "POST", "/api/ask", ASK_PER_MINUTE)


def phase_feedback_flood(attack: Attack, p: Phase) -> None:
    with attack.client("192.0.2.41") as http:
        answer = attack.send(http, "POST", "/api/ask", json={"question": QUESTIONS[0]})
    body = answer.json() if isinstance(answer, httpx.Response) and answer.status_code == 200 else {}
    qid = body.get("question_id", "onbekend")
    doc = (body.get("findings") or [{}])[0].get("document_id", "onbekend")
    counts, last_ok = flood(attack, "192.0.2.40", lambda http, i: attack.send(
        http, "POST", "/api/feedback", json={"question_id": qid, "type": "document", "id": doc,
                                              "helpful": i % 2 == 0}))
    _split(p, last_ok)
    total = sum(counts.values())
    p.rows.append(Row(f"POST /api/feedback on one answer, one address, {FLOOD_THREADS} threads, "
                      f"{FLOOD_SECONDS:.0f} s", str(total), codes(counts),
                      set(counts) <= {200, 429} and 0 < counts[200] <= REQUESTS_PER_MINUTE,
                      f"≤{REQUESTS_PER_MINUTE} ×200, then 429"))


Case = tuple[str, str, dict[str, Any]]


def _rounds(attack: Attack, p: Phase, prefix: str, groups: list[list[Case]],
            max_rounds: int = 300) -> tuple[int, list[Counter], list[list[str]]]:
    """Every case of every group once per round, each round from a fresh address (``prefix`` + round, in the
    IPv6 documentation range, so the per-client limits do not mix 429s into the answers), until the phase is
    FLOOD_SECONDS old."""
    counts = [Counter() for _ in groups]
    odd: list[list[str]] = [[] for _ in groups]
    rounds = 0
    while rounds < max_rounds and (rounds == 0 or time.time() - p.t0 < FLOOD_SECONDS):
        with attack.client(f"{prefix}{rounds:x}") as http:
            for g, cases in enumerate(groups):
                for method, url, kw in cases:
                    kw = {k: (v() if callable(v) else v) for k, v in kw.items()}
                    status = status_of(attack.send(http, method, url, **kw))
                    counts[g][status] += 1
                    if rounds == 0:
                        odd[g].append(f"{url.split('?')[0][:50]}={status}")
        rounds += 1
    return rounds, counts, odd


def phase_paths(attack: Attack, p: Phase) -> None:
    q = "armoede"
    paging: list[Case] = [
        ("GET", "/api/search", {"params": {"q": q, "offset": 501}}),
        ("GET", "/api/search", {"params": {"q": q, "offset": 10**12}}),
        ("GET", "/api/search", {"params": {"q": q, "offset": -1}}),
        ("GET", "/api/search", {"params": {"q": q, "limit": 51}}),
        ("GET", "/api/search", {"params": {"q": q, "limit": 0}}),
        ("GET", "/zoeken", {"params": {"q": q, "pagina": 51}}),
        ("GET", "/zoeken", {"params": {"q": q, "pagina": 0}}),
        ("GET", "/zoeken", {"params": {"q": q, "pagina": "9" * 30}}),
        ("GET", "/api/experts", {"params": {"q": q, "limit": 10_000}}),
    ]
    params: list[Case] = [
        ("GET", "/api/search", {"params": {"q": "a" * 2001}}),  # KM_MAX_QUERY_CHARS (2000) + 1
        ("GET", "/api/search", {"params": {"q": "a" * 5000}}),
        ("GET", "/api/search", {"params": {"q": ""}}),
        ("GET", "/api/search", {"params": {"q": q, "year": 99999}}),
        ("GET", "/api/search", {"params": {"q": q, "from": "2025-13-45"}}),
        ("GET", "/api/search", {"params": {"q": q, "atelier": "<script>alert(1)</script>"}}),
        ("POST", "/api/feedback", {"json": {"question_id": "bestaat-niet", "type": "document", "id": "x",
                                            "helpful": True}}),
        ("POST", "/api/feedback", {"json": {"question_id": "x", "type": "wachtwoord", "id": "x", "helpful": True}}),
    ]
    paths: list[Case] = [
        ("GET", "/api/documents/..%2F..%2Fetc%2Fpasswd/file", {}),
        ("GET", "/api/documents/%2e%2e%2f%2e%2e%2fetc%2fpasswd/file", {}),
        ("GET", "/api/documents/%2Fetc%2Fpasswd/file", {}),
        ("GET", "/api/documents//etc/passwd/file", {}),
        ("GET", "/api/documents/..%5C..%5Cservice%5Csettings.py/file", {}),
        ("GET", "/api/documents/verslag%00.md/file", {}),
        ("GET", "/api/documents/..%2F..%2Fetc%2Fpasswd", {}),
        ("GET", "/api/jobs/..%2F..%2Fetc%2Fpasswd", {}),
        ("GET", "/static/%2e%2e/%2e%2e/service/settings.py", {}),
        ("GET", "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd", {}),
        ("GET", "/schema/assets/..%2F..%2F..%2F..%2Fetc%2Fpasswd", {}),
        ("GET", "/api/experts/..%2F..%2Fetc%2Fpasswd", {}),
    ]
    rounds, (c_paging, c_params, c_paths), (_, _, seen) = _rounds(attack, p, "2001:db8::5:", [paging, params, paths])
    p.rows.append(Row("deep paging / page size: offset 501, 10^12, -1; limit 51, 0; pagina 51, 0, 10^29; "
                      "experts limit 10000", f"{len(paging)} × {rounds} rounds = {len(paging) * rounds}",
                      codes(c_paging), set(c_paging) == {400}, "400"))
    p.rows.append(Row("bad parameters: q of 2001 and 5000 chars, empty q, year 99999, date 2025-13-45, "
                      "atelier <script>; feedback on an unknown question, unknown type",
                      f"{len(params)} × {rounds} rounds = {len(params) * rounds}", codes(c_params),
                      set(c_params) <= {400, 404} and c_params[404] == rounds, "400 (404 for the unknown question)"))
    odd = [s for s in seen if not s.endswith(("=404", "=400"))]
    p.rows.append(Row("path tricks: ..%2F, %2e%2e%2f, absolute, backslashes, %00 under /api/documents, "
                      "/api/jobs, /static, /schema/assets, /api/experts",
                      f"{len(paths)} × {rounds} rounds = {len(paths) * rounds}",
                      codes(c_paths) + (f"; {', '.join(odd)}" if odd else ""),
                      set(c_paths) <= {400, 404} and not attack.leaks, "404 or 400, nothing served"))


def phase_bodies(attack: Attack, p: Phase) -> None:
    def big(n: int) -> bytes:
        return json.dumps({"question": "armoede " * (n // 8)}).encode()

    mb1 = big(1_000_000)

    def chunked() -> Any:
        for i in range(0, len(mb1), 64 * 1024):
            yield mb1[i:i + 64 * 1024]

    as_json = {"Content-Type": "application/json"}
    oversized: list[Case] = [
        ("POST", "/api/ask", {"content": big(70_000), "headers": as_json}),
        ("POST", "/api/ask", {"content": mb1, "headers": as_json}),
        ("POST", "/api/ask", {"content": big(20_000_000), "headers": as_json}),
        ("POST", "/api/ask", {"content": chunked, "headers": as_json}),  # called anew for every request
    ]
    malformed: list[Case] = [
        ("POST", "/api/ask", {"content": b'{"question": "armoede', "headers": as_json}),
        ("POST", "/api/ask", {"json": {"question": "a" * 5000}}),
        ("POST", "/api/ask", {"json": {"question": "armoede", "wachtwoord": "x"}}),
        ("POST", "/api/ask", {"json": ["armoede"]}),
        ("POST", "/api/ask", {"json": {"question": "armoede", "role": "x" * 41}}),
        ("POST", "/api/ask", {"json": {"question": "a" * 2001}}),
        ("POST", "/api/ask", {"content": "\udcff".encode("utf-8", "surrogatepass"), "headers": as_json}),
    ]
    rounds, (c_big, c_bad), _ = _rounds(attack, p, "2001:db8::6:", [oversized, malformed])
    p.rows.append(Row("oversized JSON to /api/ask (KM_MAX_BODY_KB 64): 70 kB, 1 MB, 20 MB, 1 MB chunked",
                      f"4 × {rounds} rounds = {4 * rounds}", codes(c_big), set(c_big) == {413}, "413"))
    p.rows.append(Row("malformed JSON to /api/ask: cut off, 5000/2001-char question, unknown field, a list, "
                      "role of 41 chars, invalid UTF-8", f"{len(malformed)} × {rounds} rounds = "
                      f"{len(malformed) * rounds}", codes(c_bad), set(c_bad) <= {400}, "400"))


# --- hostile uploads ------------------------------------------------------------------------------------


GOOD_TEXT = ("---\ntitle: Verslag buurtmoestuin Schinveld\nkind: verslag\ndate: 2026-04-02\n---\n"
             "# Buurtmoestuin Schinveld\n\n## Wat we zagen\n\nIn de buurtmoestuin van Schinveld kweken bewoners "
             "samen pompoenen en tuinbonen; de composthoop is het gesprek van de dag.\n\n## Afspraken\n\n"
             "De wijkverpleging en de volkstuinvereniging nodigen elke dinsdag nieuwe tuinders uit.\n")


def _md(title: str, extra: str = "") -> bytes:
    return (f"---\ntitle: {title}\n{extra}---\n# {title}\n\nDe tuinders van de volkstuin bespraken hun compost "
            "en de oogst van dit seizoen.\n").encode()


def hostile_files(folder: Path) -> list[tuple[str, bytes, str]]:
    """(name as uploaded, content, what it is)."""
    return [
        ("zipbom.docx", docmaker.make_zip_bomb(folder / "zipbom.docx").read_bytes(),
         "zip-bomb DOCX (150 MB of zeros inside)"),
        ("geen-zip.docx", b"Dit is platte tekst met de extensie .docx.\n" * 50, "DOCX that is no zip"),
        ("traag.md", ("[" * 20_000).encode(), "Markdown of 20,000 '[' (hangs the reader ~1 min)"),
        ("lachen.md", f"---\n{LAUGHS}---\n# Verslag\n\nTekst.\n".encode(), "billion-laughs YAML front matter"),
        ("javascript-link.md", _md("Link naar elders", 'url: "javascript:alert(document.cookie)"\n'),
         "javascript: url in front matter"),
        ("Verslag Mei.md", _md("Verslag mei"), "first of two files with one stored name"),
        ("verslag mei.md", _md("Verslag mei (tweede)"), "second of two files with one stored name"),
        ("C:\\map\\verslag.md", _md("Verslag uit een Windows-map"), "Windows path as file name"),
        ("../../../etc/cron.d/kwaad.md", _md("Kwaad"), "../ path as file name"),
        ("goed-moestuin.md", GOOD_TEXT.encode(), "a good file"),
    ]


def phase_uploads(attack: Attack, p: Phase, folder: Path) -> dict[str, Any]:
    from service.jobs import safe_name

    auth = {"Authorization": f"Bearer {TOKEN}"}
    found: dict[str, Any] = {}
    with attack.client(COORDINATOR_ADDRESS, headers=auth, timeout=120) as http:
        big = b"# Groot\n\n" + b"Een regel tekst over armoede in de wijk.\n" * (MAX_FILE_MB * 1024 * 1024 // 41 + 1000)
        r = attack.send(http, "POST", "/api/documents", files=[("files", ("groot.md", big))])
        p.rows.append(Row(f"file over KM_MAX_FILE_MB ({MAX_FILE_MB} MB): {len(big) / 1e6:.1f} MB groot.md, "
                          "own request", "1", f"{status_of(r)}: {_message(r)}", status_of(r) == 413, "413"))
        r = attack.send(http, "POST", "/api/documents", files=[("files", ("setup.exe", b"MZ" + bytes(1000)))])
        p.rows.append(Row("unsupported type setup.exe, own request", "1", f"{status_of(r)}: {_message(r)}",
                          status_of(r) == 415, "415"))
        files = hostile_files(folder)
        r = attack.send(http, "POST", "/api/documents", files=[("files", (name, data)) for name, data, _ in files])
        if not (isinstance(r, httpx.Response) and r.status_code == 202):
            p.rows.append(Row("upload of the hostile batch", str(len(files)), f"{status_of(r)}: {_message(r)}",
                              False, "202"))
            return found
        job = r.json()
        deadline = time.monotonic() + 240
        while job["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            polled = attack.send(http, "GET", f"/api/jobs/{job['id']}")
            if isinstance(polled, httpx.Response) and polled.status_code == 200:
                job = polled.json()
    found["job"] = job
    expect = {  # uploaded name: (in, what the error says)
        "zipbom.docx": (False, "keer samengeperst"), "geen-zip.docx": (False, "geen geldig zip-bestand"),
        "traag.md": (False, "te lang bezig"), "lachen.md": (False, "ankers en verwijzingen"),
        "javascript-link.md": (True, ""), "Verslag Mei.md": (True, ""),
        "verslag mei.md": (False, "onder dezelfde naam"), "C:\\map\\verslag.md": (True, ""),
        "../../../etc/cron.d/kwaad.md": (True, ""), "goed-moestuin.md": (True, ""),
    }
    for name, data, what in files:
        stored = safe_name(name)
        shown = Path(name.replace("\\", "/")).name
        errors = [e["message"] for e in job.get("errors", []) if e.get("file") in (shown, stored)
                  and not (name == "Verslag Mei.md" and "onder dezelfde naam" in e["message"])]
        went_in = stored in job.get("documents", []) and not errors
        outcome = f"in, as {stored}" if went_in else \
            "error: " + errors[0][:80] if errors else "neither in nor an error"
        should_go_in, says = expect[name]
        ok = went_in if should_go_in else bool(errors) and says in errors[0]
        p.rows.append(Row(f"{what}: {name}", f"1 ({len(data) / 1e3:.0f} kB)", outcome, ok,
                          "in" if should_go_in else f"error '…{says}…'"))
    p.rows.append(Row("the hostile batch as one job", str(len(files)),
                      f"202, job {job['status']} after {p_time(p):.0f} s, {job.get('done')}/{job.get('files')} done, "
                      f"{len(job.get('errors', []))} errors, {len(job.get('documents', []))} documents in",
                      job["status"] == "done", "job done"))
    with attack.client(COORDINATOR_ADDRESS) as http:
        link = attack.send(http, "GET", "/api/documents/javascript-link.md")
        url = link.json().get("url", "?") if isinstance(link, httpx.Response) and link.status_code == 200 else "?"
        p.rows.append(Row("javascript: url afterwards (GET /api/documents/javascript-link.md)", "1",
                          f"{status_of(link)}, url = {url!r}", status_of(link) == 200 and url is None,
                          "200, url None"))
        kwaad = attack.send(http, "GET", "/api/documents/kwaad.md")
        p.rows.append(Row("../ name afterwards: stored inside the uploads folder only", "1",
                          f"GET /api/documents/kwaad.md {status_of(kwaad)}",
                          status_of(kwaad) == 200, "200"))
    return found


def p_time(p: Phase) -> float:
    return time.time() - p.t0


def _message(r: httpx.Response | str) -> str:
    if not isinstance(r, httpx.Response):
        return r
    try:
        return str(r.json()["error"]["message"])[:80]
    except (ValueError, KeyError, TypeError):
        return r.text[:80]


# --- the run -------------------------------------------------------------------------------------------


def stats(rows: list[dict[str, Any]], t0: float, t1: float) -> dict[str, Any]:
    inside = [r for r in rows if t0 <= r["t"] <= t1]
    ms = [r["ms"] for r in inside]
    errors = [r for r in inside if r["status"] != 200]
    return {"n": len(inside), "errors": len(errors), "error_codes": dict(Counter(str(r["status"]) for r in errors)),
            "p50": round(statistics.median(ms), 1) if ms else None,
            "p99": round(percentile(ms, 99), 1) if ms else None, "seconds": round(t1 - t0, 1)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children it has waited for (the parse workers)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the data folder and the server log")
    parser.add_argument("--measure", nargs=2, metavar=("BASE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure[0], Path(args.measure[1]))
        return

    pristine = prepare()
    work = Path(tempfile.mkdtemp(prefix="km-abuse-"))
    data = work / "data"
    subprocess.run(["cp", "-a", "--sparse=always", str(pristine), str(data)], check=True)
    before_ids, _, _ = _document_ids(data)
    port = _port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KM_DATA_DIR": str(data), "KM_COORDINATOR_TOKENS": TOKEN, "KM_PORT": str(port),
           "KM_HOST": "127.0.0.1", "KM_PARSE_TIMEOUT": str(PARSE_TIMEOUT), "KM_MAX_FILE_MB": str(MAX_FILE_MB),
           "KM_LOGIN_ATTEMPTS": str(LOGIN_ATTEMPTS), "KM_REQUESTS_PER_MINUTE": str(REQUESTS_PER_MINUTE),
           "KM_ASK_PER_MINUTE": str(ASK_PER_MINUTE), "FORWARDED_ALLOW_IPS": "127.0.0.1",
           "HF_HUB_OFFLINE": "1", "DO_NOT_TRACK": "true"}
    for name in ("KM_QDRANT_URL", "KM_WORKERS", "KM_MAX_BODY_KB", "KM_MAX_QUERY_CHARS", "KM_LOCKOUT_MINUTES",
                 "KM_MAX_UPLOAD_MB", "KM_PARSE_MEMORY_MB"):
        env.pop(name, None)  # the defaults, whatever the shell has
    log_path = work / "server.log"
    log = log_path.open("w")  # a pipe nobody reads would fill up and stall the server
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], env=env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    measurements = work / "measurer.jsonl"
    measurer = None
    phases: list[Phase] = []
    attack = Attack(base)
    after: dict[str, Any] = {}
    try:
        _wait_ready(base)
        for i in range(5):  # warm up: the first searches load what the later ones find ready
            httpx.get(f"{base}/api/search", params={"q": QUESTIONS[i]}, headers={"X-Forwarded-For": "192.0.2.1"},
                      timeout=60)
        measurer = subprocess.Popen([sys.executable, "-m", "benchmarks.abuse", "--measure", base, str(measurements)],
                                    cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (measurements.exists() and measurements.stat().st_size):
            time.sleep(0.2)  # the measurer is up once its first search is recorded
        time.sleep(2)
        runs: list[tuple[str, str, Callable[[Attack, Phase], Any]]] = [
            ("0", "baseline (no attack)", lambda a, p: (time.sleep(12), p.rows.append(
                Row("nothing but the measurer", "-", "-", True, "-")))),
            ("1", "login brute force", phase_login),
            ("2", "search flood", phase_search_flood),
            ("3", "ask flood", phase_ask_flood),
            ("4", "feedback flood", phase_feedback_flood),
            ("5", "deep paging, bad parameters, path tricks", phase_paths),
            ("6", "oversized and malformed bodies", phase_bodies),
            ("7", "hostile uploads (coordinator)", lambda a, p: after.update(phase_uploads(a, p, work))),
        ]
        for key, name, run in runs:
            p = Phase(key, name)
            print(f"phase {key}: {name} ...", flush=True)
            cpu0, own0 = cpu_seconds(server.pid), own_cpu_seconds()
            p.t0 = time.time()
            run(attack, p)
            p.t1 = time.time()
            p.cpu = {"server": round(cpu_seconds(server.pid) - cpu0, 1),
                     "attackers": round(own_cpu_seconds() - own0, 1)}
            phases.append(p)
            time.sleep(2)  # let the queue drain before the next attack
        # nothing lost, asked of the running service
        with attack.client("203.0.113.250") as http:
            r = attack.send(http, "GET", "/api/search", params={"q": "buurtmoestuin Schinveld compost pompoenen"})
            top = [x["document_id"] for x in r.json()["results"]] if status_of(r) == 200 else []
            after["good_searchable"] = "goed-moestuin.md" in top[:3]
            after["good_rank"] = top.index("goed-moestuin.md") + 1 if "goed-moestuin.md" in top else None
            f = attack.send(http, "GET", "/api/documents/goed-moestuin.md/file")
            after["good_file_intact"] = status_of(f) == 200 and f.content == GOOD_TEXT.encode()
            after["health"] = status_of(attack.send(http, "GET", "/health"))
            after["ready"] = status_of(attack.send(http, "GET", "/ready"))
        time.sleep(1)
    finally:
        if measurer is not None:
            measurer.terminate()
            measurer.wait(timeout=30)
        server.terminate()
        server.wait(timeout=60)
        log.close()

    rows = read_measurements(measurements) if measurements.exists() else []
    for p in phases:
        p.stats = stats(rows, p.t0, p.t1)
        p.stats["parts"] = {label: stats(rows, t0, t1) for label, t0, t1 in p.windows}
    ids, chunk_docs, claimed = _document_ids(data)
    after["demo_documents_before"] = len(before_ids)
    after["demo_documents_all_there"] = set(before_ids) <= set(ids)
    after["documents_after"] = len(ids)
    after["duplicate_documents"] = len(ids) - len(set(ids))
    after["orphan_passages"] = sum(1 for d in chunk_docs if d not in set(ids))
    after["passages_match_records"] = len(chunk_docs) == claimed
    uploaded = sorted(set(ids) - set(before_ids))
    after["new_documents"] = uploaded
    after["staging_left"] = sorted(str(x.relative_to(data)) for x in (data / "staging").rglob("*"))
    after["stored_files"] = sorted(x.name for x in (data / "files").iterdir())
    after["files_outside_uploads"] = [str(x) for x in work.rglob("kwaad.md") if x.parent != data / "files"]
    server_log = log_path.read_text("utf-8", errors="replace")
    after["log_5xx_lines"] = [ln for ln in server_log.splitlines() if re.search(r"\s5\d\d \d+ms\s*$", ln)][:10]
    after["log_tracebacks"] = server_log.count("Traceback")
    after["measurer_total"] = len(rows)
    after["measurer_errors_total"] = sum(1 for r in rows if r["status"] != 200)
    report(phases, after, attack)
    if args.keep:
        print(f"kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def _p50_cell(s: dict[str, Any]) -> str:
    parts = list(s.get("parts", {}).values())
    if len(parts) == 2 and parts[0]["n"] and parts[1]["n"]:
        return (f"{s['p50']} ({parts[0]['p50']} while the attacker was served, first {parts[0]['seconds']} s; "
                f"{parts[1]['p50']} once it got only 429)")
    return f"{s['p50']}"


def report(phases: list[Phase], after: dict[str, Any], attack: Attack) -> None:
    base = phases[0].stats
    for p in phases:
        s = p.stats
        print(f"\n## {p.key}. {p.name} ({s['seconds']} s; CPU: server {p.cpu.get('server')} s, attackers "
              f"{p.cpu.get('attackers')} s)")
        for row in p.rows:
            verdict = "OK" if row.ok else f"UNEXPECTED (expected {row.expected})"
            print(f"  - {row.what} [{row.count}]: {row.outcome}  {verdict}")
        print(f"  measurer: {s['n']} searches, {s['errors']} errors {s['error_codes'] or ''}, p50 {s['p50']} ms, "
              f"p99 {s['p99']} ms (baseline p50 {base['p50']} ms)")
        for label, part in s.get("parts", {}).items():
            print(f"    {label} ({part['seconds']} s): {part['n']} searches, {part['errors']} errors, "
                  f"p50 {part['p50']} ms, p99 {part['p99']} ms")
    print("\n## nothing lost")
    for key, value in after.items():
        if key != "job":
            print(f"  {key}: {value}")
    print(f"  5xx or connection errors seen by the attackers: {attack.server_errors[:10] or 'none'}")
    print(f"  responses that leaked a file or a token: {attack.leaks or 'none'}")

    print("\n| # | bad input / attack | how many | outcome | as expected | measurer searches (errors) "
          f"| measurer p50 ms (baseline {base['p50']}) | measurer p99 ms | server CPU s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in phases:
        s = p.stats
        for i, row in enumerate(p.rows):
            measured = (f"{s['n']} ({s['errors']})", _p50_cell(s), f"{s['p99']}", f"{p.cpu.get('server')}") \
                if i == 0 else ("〃", "〃", "〃", "〃")
            cells = [f"{p.key}" if i == 0 else "", row.what, row.count, row.outcome.replace("|", "\\|"),
                     "yes" if row.ok else f"**no** (expected {row.expected})", *measured]
            print("| " + " | ".join(c.replace("\n", " ") for c in cells) + " |")
    lost = [k for k in ("demo_documents_all_there", "passages_match_records", "good_searchable", "good_file_intact")
            if not after.get(k)]
    lost += [k for k in ("orphan_passages", "duplicate_documents", "staging_left", "files_outside_uploads") if after[k]]
    print(f"\nNothing lost: {'yes' if not lost else 'NO: ' + ', '.join(lost)}"
          f" — {after['demo_documents_before']} demo documents all there ({after['documents_after']} after, new: "
          f"{', '.join(after['new_documents'])}); {after['orphan_passages']} orphan passages; the good upload is "
          f"result #{after.get('good_rank')} for its subject and its file is intact: {after.get('good_file_intact')}. "
          f"Service at the end: /health {after.get('health')}, /ready {after.get('ready')}; measurer "
          f"{after['measurer_total']} searches, {after['measurer_errors_total']} errors; 5xx or dropped connections "
          f"seen by the attackers: {len(attack.server_errors)}; server log: {len(after['log_5xx_lines'])} lines with "
          f"a 5xx status, {after['log_tracebacks']} tracebacks.")
    findings = [f"phase {p.key}: {row.what}: {row.outcome} (expected {row.expected})"
                for p in phases for row in p.rows if not row.ok]
    findings += [f"phase {p.key}: the measurer had {p.stats['errors']} errors {p.stats['error_codes']}"
                 for p in phases if p.stats["errors"]]
    findings += [f"phase {p.key}: measurer p50 {p.stats['p50']} ms is {p.stats['p50'] / base['p50']:.1f}× the "
                 f"baseline {base['p50']} ms" for p in phases[1:]
                 if p.stats["p50"] and base["p50"] and p.stats["p50"] > 2 * base["p50"]]
    findings += [f"attackers saw a 5xx or a dropped connection: {e}" for e in attack.server_errors[:10]]
    findings += [f"a response leaked a file or a token: {e}" for e in attack.leaks]
    findings += [f"server log line with a 5xx status: {line}" for line in after["log_5xx_lines"]]
    print("\nWorth a look:" + ("".join(f"\n  - {f}" for f in findings) if findings else " nothing"))
    summary = {"phases": [{"key": p.key, "name": p.name, "measurer": p.stats, "cpu_seconds": p.cpu,
                           "rows": [row.__dict__ for row in p.rows]} for p in phases],
               "after": {k: v for k, v in after.items() if k != "job"}, "server_errors": attack.server_errors,
               "leaks": attack.leaks}
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
