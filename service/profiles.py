"""The one path by which a coordinator creates or changes a profile, for the API and the web form alike:
checked (id, name, ateliers and themes of the taxonomy), then saved with what changed marked as edited in
the service (``Ingestor.save_expert``: a profile file never overwrites it again)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from core.errors import NotFoundError, ValidationError
from core.models import Expert
from core.names import is_email, name_key, slugify
from matching.availability import unavailable
from service.audit import PERSON
from service.container import Kennismakelaar
from service.coordinators import Actor


def save_profile(km: Kennismakelaar, expert_id: str, *, name: str, role: str = "", organization: str = "",
                 ateliers: Sequence[str] = (), themes: Sequence[str] = (), expertise: str = "", email: str = "",
                 consent: bool = False, source: str = "api", new: bool = False, actor: Actor) -> Expert:
    """Create (``new``: never over someone else) or replace the profile ``expert_id``; returns it. The audit log
    records ``actor``: a consent given or withdrawn apart from the rest of the edit."""
    if not name.strip():
        raise ValidationError("Een naam is verplicht.", field="name")
    if email.strip() and not is_email(email.strip()):
        raise ValidationError("Vul één geldig e-mailadres in (of laat het leeg).", field="email")
    if slugify(expert_id) != expert_id or not expert_id:
        raise ValidationError("Een expert-id bestaat uit kleine letters, cijfers en streepjes.", field="id")
    if new and km.catalog().expert(expert_id) is not None:
        raise ValidationError(f"Er bestaat al een profiel met id {expert_id!r}; pas dat profiel aan of kies een "
                              "ander id.", field="id")
    resolved_ateliers = [km.taxonomy.resolve_atelier(a) for a in ateliers]
    resolved_themes = [km.taxonomy.resolve_theme(t) for t in themes]
    if None in resolved_ateliers or None in resolved_themes:
        raise ValidationError("Onbekend atelier of thema.", field="ateliers" if None in resolved_ateliers else "themes")
    expert = Expert(id=expert_id, name=name.strip(), role=role.strip(), organization=organization.strip(),
                    ateliers=list(dict.fromkeys(a for a in resolved_ateliers if a)),
                    themes=list(dict.fromkeys(t for t in resolved_themes if t)),
                    expertise=" ".join(expertise.split()), email=email.strip(), consent=consent, source=source)
    before = km.catalog().expert(expert_id)
    changed = km.ingestor().save_expert(expert)
    log = km.audit()
    if before is None:
        log.record(actor, "profiel-aangemaakt", PERSON, expert_id)
        return expert
    if "consent" in changed:
        log.record(actor, "toestemming-gegeven" if consent else "toestemming-ingetrokken", PERSON, expert_id)
    if set(changed) - {"consent"}:
        log.record(actor, "profiel-bewerkt", PERSON, expert_id)
    return expert


def remove_person(km: Kennismakelaar, expert_id: str, actor: Actor) -> dict[str, int]:
    """Remove a person everywhere (``Ingestor.forget_expert``), also one whose profile its file dropped but whom
    the audit log still names. The audit log keeps that it happened, who did it and when — under the removal's
    keyed marker, never the id (a name in slug form): their earlier entries are pointed at the marker first."""
    catalog = km.catalog()
    log = km.audit()
    # a profile its file no longer holds (``--prune``) left entries in the log: its person can still ask
    gone_from_file = catalog.expert(expert_id) is None
    if gone_from_file and not log.count(target=expert_id):
        raise NotFoundError(f"Expert {expert_id!r} bestaat niet.")
    marker = catalog.ledger.keyed(name_key(expert_id))
    log.rename_target(PERSON, expert_id, marker)
    details = km.ingestor().forget_expert(expert_id, without_profile=gone_from_file)
    # again, after: an entry another worker wrote meanwhile, and ids other than the profile's that hold the name
    forgotten = catalog.forgotten()
    log.hide_removed(forgotten)
    log.record(actor, "persoon-verwijderd", PERSON, marker)
    return details


def set_availability(km: Kennismakelaar, expert_id: str, *, unavailable_until: str | None = None,
                     max_per_month: int | None = None, actor: Actor) -> dict[str, Any]:
    """Mark someone unavailable until a day (inclusive) and/or cap the requests forwarded to them per month;
    both empty clears the setting. It lives in the store beside the profile, so no profile file touches it.

    Returns the setting with today's reason, if the person is passed over now."""
    if km.catalog().expert(expert_id) is None:
        raise NotFoundError(f"Expert {expert_id!r} bestaat niet.")
    until = (unavailable_until or "").strip() or None
    if until is not None:
        try:
            dt.date.fromisoformat(until)
        except ValueError:
            raise ValidationError("Geef een datum als JJJJ-MM-DD.", field="unavailable_until") from None
    if max_per_month is not None and not 0 <= max_per_month <= 100:
        raise ValidationError("Het maximum per maand ligt tussen 0 en 100.", field="max_per_month")
    catalog = km.catalog()
    if until is None and max_per_month is None:
        catalog.delete_availability([expert_id])
    else:
        catalog.set_availability(expert_id, {"expert_id": expert_id, "unavailable_until": until,
                                             "max_per_month": max_per_month})
    km.audit().record(actor, "beschikbaarheid-gewijzigd", PERSON, expert_id)
    return availability_of(km, expert_id)


def availability_of(km: Kennismakelaar, expert_id: str) -> dict[str, Any]:
    """What is set for one person, and why they are passed over today (``reason``, or None)."""
    setting = km.catalog().availability().get(expert_id, {})
    return {"unavailable_until": setting.get("unavailable_until"), "max_per_month": setting.get("max_per_month"),
            "reason": unavailable(km.catalog()).get(expert_id)}
