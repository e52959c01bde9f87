"""The query parameters that filter the audit log, for the API and the Logboek alike. They are checked by
``service.audit.search`` (a 400 naming the field), so they are plain text here."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

Action = Annotated[str | None, Parameter(max_length=60, description="Alleen deze handeling (zie 'actions')")]
Coordinator = Annotated[str | None, Parameter(max_length=120, description="Alleen deze coördinator (id)")]
Since = Annotated[str | None, Parameter(max_length=20, description="Vanaf deze dag (JJJJ-MM-DD, inclusief)")]
Until = Annotated[str | None, Parameter(max_length=20, description="Tot en met deze dag (JJJJ-MM-DD)")]
Before = Annotated[str | None, Parameter(max_length=80, description="Alleen regels ná deze plek: de 'cursor' van de "
                                                                   "laatste regel van de vorige pagina (of een "
                                                                   "tijdstip: alles van daarvóór)")]
Limit = Annotated[int, Parameter(ge=1, le=1000)]
Offset = Annotated[int, Parameter(ge=0, le=100_000)]
