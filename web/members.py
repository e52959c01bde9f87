"""Members on the pages: signing in with a link (``/inloggen``), signing out, and the coordinators' list of members
(``/coordinatie/leden``): add, move between ateliers, hand out a link, remove."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from core.errors import KennismakelaarError, RateLimitedError, ValidationError
from service import membership
from service.auth import MEMBER_COOKIE, acting, signed_in_member
from service.container import Kennismakelaar
from service.http_errors import status_of
from service.ratelimit import client_of
from web.coordination import Form, _page, confirm_then, confirmation, flash, session_guard

BASE = "/coordinatie/leden"


class SignIn(Controller):
    """A member asks for a sign-in link by address (the answer is the same for every address)."""

    path = "/inloggen"
    include_in_schema = False

    @get(sync_to_thread=True)
    def form(self, request: Request, km: Kennismakelaar) -> Template:
        return _public("lid_inloggen", km, member=signed_in_member(request))

    @post(sync_to_thread=True)
    def ask(self, request: Request, km: Kennismakelaar, data: Form) -> Template:
        try:
            request.app.state.limiter.check("login", client_of(request))
            mailed = membership.request_link(km, str(data.get("email") or ""))
        except (ValidationError, RateLimitedError) as exc:
            return _public("lid_inloggen", km, status_of(exc), error=exc.message, email=data.get("email") or "")
        return _public("lid_inloggen", km, asked=True, mailed=mailed)


class LinkUse(Controller):
    """A link opened: a button first (mail scanners open links; only a person presses the button), then the
    session."""

    path = "/inloggen/{token:str}"
    include_in_schema = False

    @get(sync_to_thread=True)
    def confirm(self, km: Kennismakelaar, token: str) -> Template:
        return _public("lid_link", km, token=token)

    @post(sync_to_thread=True)
    def use(self, request: Request, km: Kennismakelaar, token: str) -> Template | Redirect:
        request.app.state.limiter.check("login", client_of(request), count=False)  # only failures count
        members = km.members()
        value = membership.sign_in(km, token)  # a domain's newcomer is logged there
        if value is None:
            request.app.state.limiter.failed("login", client_of(request))
            return _public("lid_link", km, 400, token=token, error="Deze link werkt niet (meer): hij is al "
                           "gebruikt of verlopen. Vraag een nieuwe aan.")
        response = Redirect("/?ingelogd=ja", status_code=303)
        response.set_cookie(MEMBER_COOKIE, value, httponly=True, samesite="lax", path="/",
                            secure=km.settings.service.secure_cookies, max_age=int(members.session_seconds))
        return response


@post("/uitloggen", sync_to_thread=True, include_in_schema=False)
def sign_out(request: Request, km: Kennismakelaar) -> Redirect:
    km.members().close_session(request.cookies.get(MEMBER_COOKIE))
    response = Redirect("/", status_code=303)
    response.delete_cookie(MEMBER_COOKIE, path="/")
    return response


def _public(name: str, km: Kennismakelaar, status: int = 200, **context: Any) -> Template:
    return Template(f"{name}.html", status_code=status, context={
        "page": "inloggen", "taxonomy": km.taxonomy, "mail": membership.mails_links(km),
        "minutes": km.settings.service.member_link_minutes, "contact_email": km.settings.service.contact_email,
        **context})


# --- the coordinators' list ---------------------------------------------------------------------------------


class Listing(Controller):
    """The list and adding. (A controller: two sync handlers on one path, see
    ``service.routes.experts.ExpertController``.)"""

    path = BASE
    guards = [session_guard]  # noqa: RUF012
    include_in_schema = False

    @get(sync_to_thread=True)
    def listing(self, request: Request, km: Kennismakelaar) -> Template:
        return _listing(request, km)

    @post(sync_to_thread=True)
    def add(self, request: Request, km: Kennismakelaar, data: Form) -> Template:
        try:
            added = membership.add(km, str(data.get("email") or ""), name=str(data.get("name") or ""),
                                   ateliers=_ateliers(data), actor=acting(request))
        except KennismakelaarError as exc:
            return _listing(request, km, status_of(exc), error=exc.message, typed=data)
        link = membership.link_for(km, added.id, str(request.base_url), acting(request))
        return _listing(request, km, 201, added=added, link=link)


def _listing(request: Request, km: Kennismakelaar, status: int = 200, **context: Any) -> Template:
    members = km.members()
    return _page("leden", km, status, request=request, members=members.all(), rules=members.rules,
                 mail=membership.mails_links(km), minutes=km.settings.service.member_link_minutes, **context)


@post(f"{BASE}/{{member_id:str}}/ateliers", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def move(request: Request, km: Kennismakelaar, member_id: str, data: Form) -> Redirect:
    membership.move(km, member_id, _ateliers(data), acting(request))
    return flash(Redirect(BASE, status_code=303), km, "lid-verplaatst")


@post(f"{BASE}/{{member_id:str}}/link", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def link(request: Request, km: Kennismakelaar, member_id: str) -> Template:
    made = membership.link_for(km, member_id, str(request.base_url), acting(request))
    return _listing(request, km, link=made, linked=km.members().get(member_id))


class Removal(Controller):
    """A member's removal: the confirmation (GET), then the removal (POST with ``bevestigd``)."""

    path = f"{BASE}/{{member_id:str}}/verwijderen"
    guards = [session_guard]  # noqa: RUF012
    include_in_schema = False

    @get(sync_to_thread=True)
    def confirm(self, request: Request, km: Kennismakelaar, member_id: str) -> Template:
        return self._confirm(request, km, member_id)

    @post(sync_to_thread=True)
    def remove(self, request: Request, km: Kennismakelaar, member_id: str, data: Form) -> Template | Response[Any]:
        return confirm_then(request, km, data, ask=lambda: self._confirm(request, km, member_id),
                            act=lambda: membership.remove(km, member_id, acting(request)), back=BASE,
                            notice="lid-verwijderd")

    @staticmethod
    def _confirm(request: Request, km: Kennismakelaar, member_id: str) -> Template:
        found = membership.consequences(km, member_id)
        return confirmation(request, km, found, action=f"{BASE}/{member_id}/verwijderen", cancel=BASE,
                            title=f"Lid {found.name} verwijderen?", button="Ja, verwijder dit lid")


def _ateliers(data: dict[str, Any]) -> list[str]:
    chosen = data.get("ateliers") or []
    return [str(a) for a in (chosen if isinstance(chosen, list) else [chosen])]


ROUTES: list[ControllerRouterHandler] = [SignIn, LinkUse, sign_out, Listing, move, link, Removal]
