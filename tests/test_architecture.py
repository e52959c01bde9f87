"""The layering of GUIDE §3 as checks that fail the suite: import contracts (import-linter, configured in
pyproject.toml) and the rule that only the catalog knows the store's collections."""

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

CONTRACTS = {"layers", "pages-on-read-models", "one-composition-root", "lean-lower-layers", "unstructured-in-parse"}
LINT = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"]


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]


def test_the_import_contracts_hold():
    done = subprocess.run([*LINT, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(CONTRACTS)} kept, 0 broken" in done.stdout


def test_every_rule_of_the_guide_is_a_contract():
    config = _config()
    assert {c["id"] for c in config["contracts"]} == CONTRACTS
    layers = next(c for c in config["contracts"] if c["id"] == "layers")
    assert layers["layers"] == ["web", "service", "ingestion | matching", "core"]
    assert set(config["root_packages"]) == {"core", "ingestion", "matching", "service", "web"}


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("core/errors.py", "import service.settings", "core.errors -> service.settings"),  # the base imports upwards
    ("matching/broker.py", "import ingestion.pipeline", "matching.broker -> ingestion.pipeline"),  # siblings
    ("service/cli.py", "import web.pages", "service.cli -> web.pages"),  # the service imports the pages
    ("web/pages.py", "import service.routes.health", "web.pages -> service.routes.health"),  # a route module
    ("matching/broker.py", "import litestar", "matching.broker -> litestar"),
    ("web/charts.py", "import service.api", "web.charts -> service.api"),  # a page module assembling the app
])
def test_a_wrong_import_breaks_a_contract(tmp_path, module, line, broken):
    """The same contracts on a copy of the packages with one wrong import added: import-linter must refuse."""
    for package in ("core", "ingestion", "matching", "service", "web"):
        for path in (ROOT / package).rglob("*.py"):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text("utf-8"), "utf-8")
    wrong = tmp_path / module
    wrong.write_text(wrong.read_text("utf-8") + f"\n{line}\n", "utf-8")
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text("utf-8"), "utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run([*LINT, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode != 0, done.stdout
    assert "BROKEN" in done.stdout and broken in done.stdout, done.stdout


def test_serve_names_a_composition_root_that_exists(tmp_path):
    """``serve`` names the app factory by its import path (uvicorn imports it in every worker): a rename of the
    composition root must fail here, not in production."""
    from importlib import import_module

    from litestar import Litestar

    from service.cli import APP_FACTORY
    from service.settings import Settings

    module, name = APP_FACTORY.split(":")
    factory = getattr(import_module(module), name)
    assert isinstance(factory(Settings.from_env({"KM_DATA_DIR": str(tmp_path)})), Litestar)


# --- only the catalog knows the store's collections ---------------------------------------------------

COLLECTION_NAMES = {"CHUNKS", "DOCUMENTS", "EXPERTS", "QUESTIONS", "META", "LEDGER", "VISIBLE"}
# backup.py is the dump of the store: it is the one module above the base that names collections
NAMING_ALLOWED = {Path("service/backup.py")}


def _modules(*packages: str) -> list[Path]:
    return sorted(p.relative_to(ROOT) for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def _raw_store_use(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("core.store"):
            found += [f"imports {a.name}" for a in node.names if a.name in COLLECTION_NAMES]
        # ``catalog.store.…``: the engine reached around the catalog's named operations
        if isinstance(node, ast.Attribute) and node.attr == "store" and "catalog" in ast.unparse(node.value):
            found.append(f"line {node.lineno}: catalog.store")
    return found


def test_matching_and_ingestion_reach_the_store_through_the_catalog_only():
    offenders = {str(p): use for p in _modules("matching", "ingestion", "web", "service")
                 if p not in NAMING_ALLOWED and (use := _raw_store_use((ROOT / p).read_text("utf-8")))}
    assert not offenders, offenders


def test_the_check_for_raw_store_use_can_fail():
    clean = "from core.store.catalog import Catalog\n\ndef f(self):\n    return self.catalog.counts()"
    assert _raw_store_use(clean) == []
    raw = "from core.store.catalog import CHUNKS\n\ndef f(self):\n    return self.catalog.store.count(CHUNKS)\n"
    assert _raw_store_use(raw) == ["imports CHUNKS", "line 4: catalog.store"]


# --- types --------------------------------------------------------------------------------------------

@pytest.mark.slow  # about a minute without a cache
def test_the_types_check_clean():
    """mypy over every package (configured in pyproject.toml); it found two real bugs when first run."""
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout
