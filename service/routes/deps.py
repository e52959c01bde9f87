"""What every controller gets injected: the application core, and helpers to read limits."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from service.container import Kennismakelaar

_DESCRIPTIONS = {400: "Ongeldige invoer (het veld staat in error.field)", 401: "Inloggen nodig",
                 403: "Geen coördinatorrechten", 404: "Niet gevonden", 409: "Bestaat al", 413: "Te groot",
                 415: "Bestandstype niet ondersteund", 429: "Te veel verzoeken",
                 502: "De mailserver weigerde of was onbereikbaar", 503: "Dienst niet gereed"}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the error responses a route can give (all in the one error shape)."""
    from service.schemas import ErrorOut

    return {code: ResponseSpec(data_container=ErrorOut, description=_DESCRIPTIONS[code], generate_examples=False)
            for code in (400, *codes)}


COORDINATOR = (401, 403)


def provide_km(state: State) -> Kennismakelaar:
    return state.km


def expert_json(match: Any, *, contact: bool) -> dict[str, Any]:
    """An expert result for the API; contact details only for coordinators, and only with consent."""
    return match.to_json(contact=contact)
