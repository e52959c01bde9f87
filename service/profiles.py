"""The one path by which a coordinator creates or changes a profile, for the API and the web form alike:
checked (id, name, ateliers and themes of the taxonomy), then saved with what changed marked as edited in
the service (``Ingestor.save_expert``: a profile file never overwrites it again).

Every change is based on a version (the API's ``ETag``/``If-Match``, the form's hidden field): a change based on a
version that is no longer the stored one is refused (``StaleVersionError``), so no coordinator silently undoes
another's decision — a consent withdrawn, a person removed on request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from core.errors import NotFoundError, StaleVersionError, ValidationError
from core.models import Expert
from core.names import is_email, name_key, slugify
from core.store.revisions import revision
from ingestion.pipeline import Saved
from matching.availability import unavailable
from service.audit import PERSON
from service.container import Kennismakelaar
from service.coordinators import Actor
from service.erasure import erase_residue

RECREATED = "profiel-heraangemaakt"  # a person removed on request and created again on purpose: logged apart


def save_profile(km: Kennismakelaar, expert_id: str, *, name: str, role: str = "", organization: str = "",
                 ateliers: Sequence[str] = (), themes: Sequence[str] = (), expertise: str = "", email: str = "",
                 consent: bool = False, source: str = "api", new: bool = False, expected: int | None = None,
                 recreate_removed: bool = False, actor: Actor) -> Saved:
    """Create (``new``: never over someone else) or change the profile ``expert_id``; ``expected``: an edit of that
    version only (never a creation). ``recreate_removed``: a coordinator confirmed that someone removed on request
    comes back (only with ``new``). See ``Ingestor.save_expert``.

    The audit log records ``actor`` and what really changed against the version replaced: a consent given or
    withdrawn apart from the rest of the edit."""
    if not name.strip():
        raise ValidationError("Een naam is verplicht.", field="name")
    if email.strip() and not is_email(email.strip()):
        raise ValidationError("Vul één geldig e-mailadres in (of laat het leeg).", field="email")
    if slugify(expert_id) != expert_id or not expert_id:
        raise ValidationError("Een expert-id bestaat uit kleine letters, cijfers en streepjes.", field="id")
    resolved_ateliers = [km.taxonomy.resolve_atelier(a) for a in ateliers]
    resolved_themes = [km.taxonomy.resolve_theme(t) for t in themes]
    if None in resolved_ateliers or None in resolved_themes:
        raise ValidationError("Onbekend atelier of thema.", field="ateliers" if None in resolved_ateliers else "themes")
    expert = Expert(id=expert_id, name=name.strip(), role=role.strip(), organization=organization.strip(),
                    ateliers=list(dict.fromkeys(a for a in resolved_ateliers if a)),
                    themes=list(dict.fromkeys(t for t in resolved_themes if t)),
                    expertise=" ".join(expertise.split()), email=email.strip(), consent=consent, source=source)
    saved = km.ingestor().save_expert(expert, expected=expected, new=new,
                                      recreate_removed=recreate_removed and new)
    log = km.audit()
    if saved.created:
        log.record(actor, RECREATED if saved.recreated else "profiel-aangemaakt", PERSON, expert_id)
        return saved
    if "consent" in saved.changed:
        log.record(actor, "toestemming-gegeven" if consent else "toestemming-ingetrokken", PERSON, expert_id)
    if set(saved.changed) - {"consent"}:
        log.record(actor, "profiel-bewerkt", PERSON, expert_id)
    return saved


def profile_version(km: Kennismakelaar, expert_id: str) -> int:
    """The stored version of a profile (its ``ETag``); a profile that does not exist is a ``NotFoundError``."""
    found = km.catalog().expert(expert_id)
    if found is None:
        raise NotFoundError(f"Expert {expert_id!r} bestaat niet (meer).")
    return revision(found)


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
    catalog.erasure_due()  # a crash from here on: the next start still rewrites the store's files
    log.rename_target(PERSON, expert_id, marker)
    details = km.ingestor().forget_expert(expert_id, without_profile=gone_from_file)
    # again, after: an entry another worker wrote meanwhile, and ids other than the profile's that hold the name
    forgotten = catalog.forgotten()
    log.hide_removed(forgotten)
    log.record(actor, "persoon-verwijderd", PERSON, marker)
    # last: every write above left old versions in the store's files, and the uploads folder its files
    return {**details, **erase_residue(km)}


def set_availability(km: Kennismakelaar, expert_id: str, *, unavailable_until: str | None = None,
                     max_per_month: int | None = None, expected: int | None = None, actor: Actor) -> dict[str, Any]:
    """Mark someone unavailable until a day (inclusive) and/or cap the requests forwarded to them per month;
    both empty clears the setting. It lives in the store beside the profile, so no profile file touches it.
    ``expected``: only over that version of the setting (0: never set), else a ``StaleVersionError``.

    Returns the setting with today's reason, if the person is passed over now, and its ``version``."""
    if km.catalog().expert(expert_id) is None:
        raise NotFoundError(f"Expert {expert_id!r} bestaat niet (meer).")
    until = (unavailable_until or "").strip() or None
    if until is not None:
        try:
            dt.date.fromisoformat(until)
        except ValueError:
            raise ValidationError("Geef een datum als JJJJ-MM-DD.", field="unavailable_until") from None
    if max_per_month is not None and not 0 <= max_per_month <= 100:
        raise ValidationError("Het maximum per maand ligt tussen 0 en 100.", field="max_per_month")
    version = km.catalog().set_availability(expert_id, {"expert_id": expert_id, "unavailable_until": until,
                                                        "max_per_month": max_per_month}, expected=expected)
    if version is None:
        raise StaleVersionError("De beschikbaarheid is intussen door iemand anders gewijzigd; je wijziging is niet "
                                "opgeslagen.", version=availability_version(km, expert_id),
                                current=availability_of(km, expert_id),
                                hint="Bekijk de beschikbaarheid zoals die nu is en breng je wijziging opnieuw aan.")
    km.audit().record(actor, "beschikbaarheid-gewijzigd", PERSON, expert_id)
    return {**availability_of(km, expert_id), "version": version}


def availability_version(km: Kennismakelaar, expert_id: str) -> int:
    """The version of someone's availability setting (its ``ETag``): 0 when it was never set."""
    return revision(km.catalog().availability_record(expert_id))


def availability_of(km: Kennismakelaar, expert_id: str) -> dict[str, Any]:
    """What is set for one person, and why they are passed over today (``reason``, or None)."""
    setting = km.catalog().availability().get(expert_id, {})
    return {"unavailable_until": setting.get("unavailable_until"), "max_per_month": setting.get("max_per_month"),
            "reason": unavailable(km.catalog()).get(expert_id)}
