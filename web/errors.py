"""Errors on the web pages: the status and message of the service's one error mapping, as a Dutch page."""

from __future__ import annotations

from litestar import Request, Response
from litestar.response import Redirect, Template

from service.http_errors import exception_to_http_response

_API_PREFIXES = ("/api/", "/schema", "/health", "/ready", "/static/")
_PAGE_TITLES = {400: "Dat ging niet goed", 401: "Inloggen nodig", 403: "Geen toegang", 404: "Niet gevonden",
                413: "Te groot", 415: "Bestandstype niet ondersteund", 429: "Even geduld",
                500: "Er ging iets mis", 503: "Even niet beschikbaar"}


def page_or_api_error(request: Request, exc: Exception) -> Response:
    """The service's answer for the API; for the pages the same status with a Dutch page (or the login form)."""
    response = exception_to_http_response(request, exc)
    if request.url.path.startswith(_API_PREFIXES) or request.url.path == "/schema":
        return response
    return _page_response(request, exc, response)


def _page_response(request: Request, exc: Exception, response: Response) -> Response:
    status = response.status_code or 500
    if status == 401:
        return Redirect("/coordinatie/inloggen", status_code=303)
    error = response.content.get("error", {}) if isinstance(response.content, dict) else {}
    message = error.get("message") or "Er ging iets mis aan onze kant."
    if status == 403 and "csrf" in str(getattr(exc, "detail", "")).lower():
        message = "Het formulier is verlopen. Ga terug, vernieuw de pagina en probeer het opnieuw."
    wait = {k.lower(): v for k, v in (response.headers or {}).items()}.get("retry-after")
    retry = {"Retry-After": wait} if wait else None
    return Template("error.html", status_code=status, headers=retry,
                    context={"title": _PAGE_TITLES.get(status, "Er ging iets mis"), "message": message,
                             "page": ""})
