"""The contact form: "Vraag contact aan" from an answer or a profile, without JavaScript, behind CSRF.

Sending answers with a redirect to the confirmation (post/redirect/get): reloading the confirmation reads it
again and sends nothing twice. Its address holds the request's random id only, never the asker's details."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from core.errors import NotFoundError, RateLimitedError, ValidationError
from service import contacts
from service.container import Kennismakelaar
from service.ratelimit import client_of, limited

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
FIELDS = ("name", "email", "organization", "role", "message", "question", "question_id", "expert_id", "publish_consent")


class ContactForm(Controller):
    """The form and its sending. (A controller, because Litestar double-wraps sync handlers that share a path
    as plain functions: see ``service.routes.experts.ExpertController``.)"""

    path = "/contact"
    include_in_schema = False

    @get(sync_to_thread=True, guards=[limited("public")])
    def form(self, km: Kennismakelaar, expert: str | None = None, vraag: str | None = None) -> Template:
        return _page(km, {"expert_id": expert or "", "question_id": vraag or ""})

    @post(sync_to_thread=True)
    def send(self, request: Request, km: Kennismakelaar, data: Form) -> Template | Redirect:
        form = {k: str(data.get(k) or "") for k in FIELDS}
        try:
            request.app.state.limiter.check("ask", client_of(request))
            made = contacts.submit(km, name=form["name"], email=form["email"], message=form["message"],
                                   organization=form["organization"], role=form["role"], question=form["question"],
                                   question_id=form["question_id"] or None, expert_id=form["expert_id"] or None,
                                   publish_consent=form["publish_consent"] == "ja")
        except (ValidationError, RateLimitedError, NotFoundError) as exc:
            status = 429 if isinstance(exc, RateLimitedError) else 400
            return _page(km, form, status=status, error=exc.message, field=getattr(exc, "field", None))
        return Redirect(f"/contact/ontvangen/{made.id}", status_code=303)

    @get("/ontvangen/{request_id:str}", sync_to_thread=True, guards=[limited("public")])
    def sent(self, km: Kennismakelaar, request_id: str) -> Template:
        """The confirmation with the number to quote. Not the asker's name: the address may stay in a shared
        browser's history, and the page answers anyone who has it."""
        made = contacts.get(km, request_id)  # a request deleted since (or never made): not found
        return Template("contact_sent.html", context={"page": "", "number": made.number,
                                                      "contact_email": km.settings.service.contact_email})


def _page(km: Kennismakelaar, form: dict[str, str], *, status: int = 200, error: str | None = None,
          field: str | None = None) -> Template:
    """The form, with who and which question it is about (only what the public may see of them)."""
    expert = km.catalog().public_expert(form["expert_id"]) if form.get("expert_id") else None
    question = form.get("question", "")
    if form.get("question_id") and not question:
        try:
            question = km.broker().questions.get(form["question_id"])["text"]
        except NotFoundError:
            form["question_id"] = ""
    return Template("contact.html", status_code=status, context={
        "page": "", "form": {**form, "question": question, "expert_id": expert["expert_id"] if expert else ""},
        "expert": expert and {"name": expert["name"], "role": expert.get("role", "")},
        "error": error, "field": field, "retention_days": km.settings.matching.contact_retention_days,
        "limits": contacts.LIMITS})


ROUTES: list[ControllerRouterHandler] = [ContactForm]
