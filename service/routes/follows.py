"""Followers, for coordinators: how many follow what (never an address), and removal on request."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, delete, get
from litestar.params import Parameter

from service import following
from service import schemas as s
from service.auth import acting, coordinator_guard
from service.container import Kennismakelaar
from service.routes.deps import COORDINATOR, errors


@get("/api/follows", sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR),
     summary="Wie volgt wat: per vraag en onderwerp het aantal volgers (coördinator)")
def counts(km: Kennismakelaar) -> s.FollowsOut:
    books = following.follows(km)
    active = books.active()
    return s.FollowsOut(active=len(active), pending=len(books.all()) - len(active),
                        questions=books.followed_questions(),
                        topics=sum(1 for f in active if f.what == "topic"),
                        reached=following.reached(km))


@delete("/api/follows", status_code=200, sync_to_thread=True, guards=[coordinator_guard],
        responses=errors(*COORDINATOR), summary="Verwijder alles wat iemand volgt, op verzoek (coördinator)")
def remove(request: Request, km: Kennismakelaar,
           email: Annotated[str, Parameter(min_length=3, max_length=254)]) -> s.FollowsRemovedOut:
    """Every follow of the address, with its news and messages, out of the store's files; logged by id."""
    ids = [f.id for f in following.follows(km).of_email(email)]
    if ids:
        following.remove(km, ids, acting(request), "volgen-verwijderd")
    return s.FollowsRemovedOut(removed=len(ids))


ROUTES = [counts, remove]
