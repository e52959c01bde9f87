"""The README tells the truth: its commands, its settings table and its CLI match the code."""

from __future__ import annotations

import re

from service.cli import build_parser
from service.settings import settings_table
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text("utf-8")


def _commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", README)


def test_readme_opens_with_the_demo_and_test_commands():
    demo, tests = _commands()[:2]
    assert "kennismakelaar" in demo and "samples" in demo
    assert "pytest" in tests
    assert README.index(demo) < README.index("## What it does")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert _commands()[1] in ci.splitlines()


def test_settings_table_matches_the_code():
    table = settings_table()
    assert len(table) >= 10 and {"KM_DATA_DIR", "KM_QDRANT_URL"} <= {env for env, _, _ in table}
    for env, default, doc in table:
        row = next((line for line in README.splitlines() if line.startswith(f"| `{env}` |")), None)
        assert row is not None, env
        assert doc in row, env
        if default:
            assert f"`{default}`" in row, env


def test_every_command_is_documented():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"ingest", "search", "experts", "status", "serve", "export", "import"} <= set(sub.choices)
    for command in sub.choices:
        assert f"kennismakelaar {command}" in README
