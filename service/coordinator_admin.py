"""The one path by which coordinators are added and removed, for the CLI, the API and the web page alike:
each change in the audit log under who made it. Through the service, a coordinator can be added or removed
while the service runs on the embedded store (the CLI must then wait for it to stop: the store is one
process's)."""

from __future__ import annotations

from typing import Any

from core.errors import PermissionDeniedError, ValidationError
from service.container import Kennismakelaar
from service.coordinators import Actor

TARGET = "coordinator"  # the audit log's name for a coordinator as a target


def add(km: Kennismakelaar, name: str, actor: Actor) -> tuple[Actor, str]:
    """A new coordinator and their personal token: the only time it exists in clear (``Coordinators.add``).
    Someone removed before under the same name had that id: the new one gets the next free one (``naam-2``)."""
    _still(km, actor)
    added, token = km.coordinators().add(name)
    km.audit().record(actor, "coordinator-toegevoegd", TARGET, added.id)
    return added, token


def remove(km: Kennismakelaar, coordinator_id: str, actor: Actor) -> Actor:
    """Their token and sessions stop at once, on every worker. Nobody removes themselves here: that would
    lock them out by a slip of the hand, so another coordinator (or the command line) does it."""
    if coordinator_id == actor.id:
        raise ValidationError("Je kunt jezelf niet verwijderen; vraag een andere coördinator.", field="id")
    _still(km, actor)
    removed = km.coordinators().remove(coordinator_id, by=actor)  # checked again there, in one step with the claim
    km.audit().record(actor, "coordinator-verwijderd", TARGET, removed.id)
    return removed


def _still(km: Kennismakelaar, actor: Actor) -> None:
    if not km.coordinators().is_active(actor):
        raise PermissionDeniedError("Je bent zelf net verwijderd als coördinator.")


def listing(km: Kennismakelaar, *, removed: bool = False) -> list[dict[str, Any]]:
    """The coordinators by name, as the API shows them (never a token or its hash)."""
    return [{"id": c["coordinator_id"], "name": c["name"], "created_at": c["created_at"],
             "removed_at": c.get("removed_at")} for c in km.coordinators().all(removed=removed)]
