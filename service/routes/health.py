"""Liveness (the process answers) and readiness (store open, model loaded)."""

from __future__ import annotations

from litestar import get
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Response

from core.visibility import PUBLIC
from service import schemas as s
from service.container import Kennismakelaar


@get("/health", sync_to_thread=False, summary="Leeft de dienst?")
def health() -> s.HealthOut:
    return s.HealthOut(status="ok")


@get("/ready", sync_to_thread=True, summary="Is de dienst klaar: opslag open, model geladen?",
     responses={503: ResponseSpec(data_container=s.HealthOut, description="Niet gereed")})
def ready(km: Kennismakelaar) -> Response[s.HealthOut]:
    checks: dict[str, object] = {}
    try:
        # the kind of store only: an absolute path or a server address tells an outsider too much; the documents
        # anyone may see (a count of all would say how many are not open)
        checks.update(store="qdrant-server" if km.settings.store.qdrant_url else "embedded",
                      documents=km.catalog().count_documents(filter=PUBLIC.filter()))
        checks["model"] = km.embedder.identity
        km.embedder.embed_query("gereed")
        ok = True
    except Exception as exc:  # readiness reports every failure as "not ready", never as a 500
        checks["error"] = type(exc).__name__
        ok = False
    return Response(s.HealthOut(status="ready" if ok else "not ready", checks=checks), status_code=200 if ok else 503)


ROUTES = [health, ready]
