"""The one path by which a coordinator creates or changes a profile, for the API and the web form alike:
checked (id, name, ateliers and themes of the taxonomy), then saved with what changed marked as edited in
the service (``Ingestor.save_expert``: a profile file never overwrites it again)."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import ValidationError
from core.models import Expert
from core.names import slugify
from service.container import Kennismakelaar


def save_profile(km: Kennismakelaar, expert_id: str, *, name: str, role: str = "", organization: str = "",
                 ateliers: Sequence[str] = (), themes: Sequence[str] = (), expertise: str = "", email: str = "",
                 consent: bool = False, source: str = "api", new: bool = False) -> Expert:
    """Create (``new``: never over someone else) or replace the profile ``expert_id``; returns it."""
    if not name.strip():
        raise ValidationError("Een naam is verplicht.", field="name")
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
    km.ingestor().save_expert(expert)
    return expert
