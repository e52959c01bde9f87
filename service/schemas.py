"""Request and response schemas (msgspec): what the API takes and gives, and what OpenAPI documents.

Findings and experts carry exactly the fields of the CLI's JSON (GUIDE 4.4), converted from the same
``to_json`` so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from service import contacts as c

# its longest length is a setting (KM_MAX_QUERY_CHARS), checked by ``service.validation.check_text``
Text = Annotated[str, Meta(min_length=1)]
Slug = Annotated[str, Meta(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class ErrorDetail(Struct):
    code: str
    message: str
    hint: str | None = None
    field: str | None = None


class ErrorOut(Struct):
    status: int
    error: ErrorDetail


class BridgeLabel(Struct):
    from_atelier: str
    from_atelier_name: str
    via_theme: str | None = None
    via_theme_name: str | None = None


class FindingOut(Struct):
    document_id: str
    title: str
    score: float
    snippet: str
    kind: str
    ateliers: list[str]
    themes: list[str]
    source: str
    page: int | None
    citation: str
    date: str | None = None
    section: list[str] = []
    url: str | None = None
    highlights: list[str] = []
    bridge: BridgeLabel | None = None
    relevance: float | None = None
    knowledge: list[str] = []  # onderzoek | praktijk | ervaring
    evidence: str | None = None  # an intervention's evidence level (GET /api/taxonomy lists them)
    visibility: str = "openbaar"  # openbaar | werkplaats | atelier:<slug> | coordinatie


class ReasonOut(Struct):
    type: str
    document_id: str | None
    title: str
    snippet: str
    role: str | None = None
    visibility: str | None = None


class ExpertOut(Struct):
    id: str
    name: str
    score: float
    role: str
    organization: str
    ateliers: list[str]
    reasons: list[ReasonOut]
    themes: list[str] = []
    bridge: BridgeLabel | None = None
    documents: int = 0
    email: str | None = None  # coordinators only
    knowledge: list[str] = []  # what they bring by their role: onderzoek | praktijk | ervaring


class BridgeOut(Struct):
    type: str  # "finding" | "expert"
    from_atelier: str
    from_atelier_name: str
    via_theme: str | None = None
    via_theme_name: str | None = None
    finding: FindingOut | None = None
    expert: ExpertOut | None = None


class PerspectiveOut(Struct):
    """What one kind of knowledge says on the question: its best findings and the people who bring it. Without
    findings (``found`` false) a message says so; people who bring the kind may still be named."""

    knowledge: str
    heading: str
    found: bool
    findings: list[FindingOut]
    experts: list[ExpertOut]
    message: str | None = None
    # without findings on the question, those of this kind the answer's list shows all the same (less relevant)
    nearby: list[FindingOut] = []


class AskIn(Struct, forbid_unknown_fields=True):
    question: Text
    atelier: Slug | None = None
    role: Annotated[str, Meta(max_length=40)] | None = None


class AskOut(Struct):
    question_id: str | None
    question: str
    atelier: str | None
    atelier_inferred: bool
    findings: list[FindingOut]
    experts: list[ExpertOut]
    bridges: list[BridgeOut]
    best_score: float
    hidden_experts: int
    perspectives: list[PerspectiveOut] = []
    answered: Annotated[bool, Meta(description=(
        "Of de Werkplaats het antwoord kent (matching/answerability.py). Zo niet: geen mensen, geen bruggen en "
        "geen kennissoorten; de vraag komt op de kennisagenda en de pagina verwijst naar de coördinator."))] = True
    confidence: Annotated[float, Meta(description=(
        "De kans dat de vraag beantwoord is volgens het oordeel (laag: vrijwel zeker niet)."))] = 1.0


class SearchOut(Struct):
    query: str
    results: list[FindingOut]
    total: int
    facets: dict[str, dict[str, int]]


class ExpertsOut(Struct):
    query: str
    experts: list[ExpertOut]
    hidden: int


class PanelIn(Struct, forbid_unknown_fields=True):
    topic: Text
    k: Annotated[int, Meta(ge=1, le=20)] = 4
    min_roles: dict[Annotated[str, Meta(min_length=1, max_length=40)], Annotated[int, Meta(ge=0, le=20)]] = {}
    max_per_organization: Annotated[int, Meta(ge=1, le=20)] | None = None
    cover_ateliers: list[Slug] = []
    exclude: list[Annotated[str, Meta(min_length=1, max_length=120)]] = []


class PanelMemberOut(Struct):
    expert: ExpertOut
    why: list[str]


class PassedOverOut(Struct):
    id: str
    name: str
    reason: str


class PanelOut(Struct):
    topic: str
    members: list[PanelMemberOut]
    unmet: list[str]
    candidates: int
    passed_over: list[PassedOverOut] = []


class FeedbackIn(Struct, forbid_unknown_fields=True):
    question_id: Annotated[str, Meta(min_length=1, max_length=64)]
    type: Annotated[str, Meta(pattern=r"^(document|expert|answer)$")]
    id: Annotated[str, Meta(min_length=1, max_length=300)]
    helpful: bool


class FeedbackOut(Struct):
    question_id: str
    helpful: int
    unhelpful: int


class ClusterOut(Struct):
    representative: str
    size: int
    ateliers: dict[str, int]
    first_asked: str
    last_asked: str
    best_score: float
    novelty: float
    next_step: str
    next_step_label: str
    why: str
    question_ids: list[str]
    examples: list[str]
    unhelpful: int
    followers: Annotated[int, Meta(description="Hoeveel mensen een van deze vragen volgen.")] = 0


class GapTopicOut(Struct):
    representative: str
    size: int
    last_asked: str
    question_ids: list[str]


class KnowledgeGapOut(Struct):
    """The topics on which answers found nothing of one kind of knowledge."""

    knowledge: str
    label: str
    questions: int
    topics: list[GapTopicOut]


class AgendaOut(Struct):
    questions: int
    open: int
    clusters: list[ClusterOut]
    timeline: dict[str, dict[str, int]]
    knowledge_gaps: list[KnowledgeGapOut] = []
    # how many of the newest open questions the clusters are made of (at most 1,000: beyond, the oldest are
    # counted in ``open`` and ``timeline`` but not clustered)
    clustered: int = 0


class FileErrorOut(Struct):
    file: str
    message: str


class JobOut(Struct):
    id: str
    status: str  # queued | running | done | failed
    files: int
    done: int
    documents: list[str]
    errors: list[FileErrorOut]
    created_at: str
    finished_at: str | None = None
    notes: list[FileErrorOut] = []  # taken in, with something to know: e.g. stored under another name


class PassageOut(Struct):
    index: int
    text: str
    section: list[str]
    page: int | None


class PersonOut(Struct):
    id: str
    name: str
    role: str


class DocumentOut(Struct):
    document_id: str
    title: str
    kind: str
    ateliers: list[str]
    themes: list[str]
    ateliers_inferred: bool
    themes_inferred: bool
    date: str | None
    source: str
    format: str
    url: str | None
    pages: int | None
    people: list[PersonOut]
    passages: list[PassageOut]
    has_file: bool
    knowledge: list[str] = []  # onderzoek | praktijk | ervaring
    knowledge_inferred: bool = False
    evidence: str | None = None
    target_groups: list[str] = []  # doelgroep
    working_elements: list[str] = []  # werkzame elementen
    visibility: str = "openbaar"  # who may see it: openbaar | werkplaats | atelier:<slug> | coordinatie
    # an intervention's assessment, as a databank shows it: when, by whom, why this level
    evidence_date: str | None = None
    evidence_assessor: str | None = None
    evidence_reason: str | None = None
    summary: str | None = None


class BrowseItemOut(Struct):
    document_id: str
    title: str
    kind: str
    date: str | None
    ateliers: list[str]
    themes: list[str]
    knowledge: list[str] = []
    evidence: str | None = None
    target_groups: list[str] = []
    summary: Annotated[str | None, Meta(description="De samenvatting uit de metadata, of anders het begin van "
                                                    "de eerste passage.")] = None
    source: str = ""
    url: str | None = None
    visibility: str = "openbaar"
    added: Annotated[str | None, Meta(description="Wanneer het in de Werkplaats kwam (jjjj-mm-dd).")] = None


class FacetValueOut(Struct):
    value: str | int
    count: int


class BrowseOut(Struct):
    total: int
    page: int
    pages: int
    sort: str
    items: list[BrowseItemOut]
    facets: Annotated[dict[str, list[FacetValueOut]], Meta(description=(
        "Per filter (kind, atelier, theme, knowledge, evidence, target_group, year): hoeveel documenten elke "
        "waarde heeft onder de keuzes in de andere filters."))]


class CitationOut(Struct):
    document_id: str
    apa: Annotated[str, Meta(description="De verwijzing in de literatuurlijst (APA 7, Nederlandse conventies).")]
    in_text: Annotated[str, Meta(description="De verwijzing in de lopende tekst: (De Vries, 2024).")]
    ris: str
    bibtex: str


class CitationsOut(Struct):
    items: list[CitationOut]


class FollowsOut(Struct):
    active: int
    pending: Annotated[int, Meta(description="Nog niet bevestigd (na twee dagen gewist).")]
    questions: Annotated[dict[str, int], Meta(description="Per gevolgde vraag (question_id) het aantal volgers.")]
    topics: int
    reached: Annotated[int, Meta(description="Berichten die volgers bereikten (alle tijd).")]


class FollowsRemovedOut(Struct):
    removed: int


class MemberOut(Struct):
    id: str
    email: str
    name: str
    ateliers: list[str]
    via: str  # coordinator | domain
    created_at: float


class MemberIn(Struct, forbid_unknown_fields=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)]
    name: Annotated[str, Meta(max_length=120)] = ""
    ateliers: list[Slug] = []


class MemberAteliersIn(Struct, forbid_unknown_fields=True):
    ateliers: list[Slug]


class MemberLinkOut(Struct):
    link: str
    minutes: int


class VisibilityIn(Struct, forbid_unknown_fields=True):
    visibility: Annotated[str, Meta(min_length=1, max_length=120, description=(
        "openbaar, werkplaats, coordinatie of atelier:<slug>"))]


Name = Annotated[str, Meta(min_length=1, max_length=200)]
Role = Annotated[str, Meta(max_length=80)]
Organization = Annotated[str, Meta(max_length=200)]
Expertise = Annotated[str, Meta(max_length=4000)]
Email = Annotated[str, Meta(max_length=200)]


class ExpertIn(Struct, forbid_unknown_fields=True):
    """``PUT /api/experts/{id}``: the whole profile, every field required. A field left out is an error rather
    than a reset to empty (an e-mail address or a consent silently cleared): send back the fields ``GET`` gave
    (``email`` null there when there is none)."""

    name: Name
    role: Role
    organization: Organization
    ateliers: list[Slug]
    themes: list[Slug]
    expertise: Expertise
    email: Email | None
    consent: bool


class ExpertNewIn(Struct, forbid_unknown_fields=True):
    """``POST /api/experts``: a new profile (``id``: the slug of the name when left out). ``recreate_removed``: the
    coordinator confirms that a person removed on request asked to come back (their removal markers are lifted)."""

    name: Name
    id: Annotated[str, Meta(max_length=120)] | None = None
    role: Role = ""
    organization: Organization = ""
    ateliers: list[Slug] = []
    themes: list[Slug] = []
    expertise: Expertise = ""
    email: Email = ""
    consent: bool = False
    recreate_removed: bool = False


class ExpertProfileOut(Struct):
    id: str
    name: str
    role: str
    organization: str
    ateliers: list[str]
    themes: list[str]
    expertise: str
    documents: list[dict[str, str]]
    consent: bool | None = None  # coordinators only
    email: str | None = None  # coordinators only


class DeletedOut(Struct):
    id: str
    deleted: bool
    details: dict[str, int] = {}


class TermOut(Struct):
    slug: str
    name: str
    description: str


class EvidenceLevelOut(Struct):
    slug: str
    name: str
    rank: int  # higher is stronger evidence; no level at all is 0
    databank: str
    description: str


class KnowledgeSourceOut(Struct):
    slug: str
    name: str
    heading: str


class TaxonomyOut(Struct):
    ateliers: list[TermOut]
    themes: list[TermOut]
    evidence_levels: list[EvidenceLevelOut] = []
    knowledge: list[KnowledgeSourceOut] = []


class HealthOut(Struct):
    status: str
    checks: dict[str, Any] = {}


def convert(data: Any, kind: type[Struct]) -> Any:
    """Dict (a result's ``to_json``) → schema struct; unknown keys are dropped."""
    return msgspec.convert(data, kind)


# --- contact requests --------------------------------------------------------------------------------------


class ContactIn(Struct, forbid_unknown_fields=True):
    """The limits are the ones ``service.contacts.submit`` applies to the web form too."""

    name: Annotated[str, Meta(min_length=1, max_length=c.MAX_NAME)]
    email: Annotated[str, Meta(min_length=3, max_length=c.MAX_EMAIL)]
    message: Annotated[str, Meta(min_length=1, max_length=c.MAX_MESSAGE)]
    organization: Annotated[str, Meta(max_length=c.MAX_ORGANIZATION)] = ""
    role: Annotated[str, Meta(max_length=c.MAX_ROLE)] = ""
    question: Annotated[str, Meta(max_length=c.MAX_QUESTION)] = ""
    question_id: Annotated[str, Meta(max_length=64)] | None = None
    expert_id: Annotated[str, Meta(max_length=200)] | None = None
    publish_consent: bool = False  # the asker agrees that their own words may be published, names taken out


class ContactReceivedOut(Struct):
    """What the asker sees: the request's number and what happens next — never anyone's address."""

    id: str
    status: str
    next: str


class ContactRequestOut(Struct):
    """A request as a coordinator sees it."""

    id: str
    name: str
    email: str
    message: str
    created_at: str
    status: str
    organization: str
    role: str
    question: str
    question_id: str | None
    expert_id: str | None
    atelier: str | None
    note: str
    changed_at: dict[str, str]
    forwarded_to: str | None = None
    outcome: str = ""
    answered: bool | None = None
    finding_id: str | None = None
    number: str = ""  # what the asker was told to quote
    duplicate_of: str | None = None  # merged: the request it was a duplicate of


class MergeIn(Struct, forbid_unknown_fields=True):
    into: Annotated[str, Meta(min_length=1, max_length=64, description="Het nummer (of id) van het verzoek dat "
                                                                         "blijft.")]


class ContactUpdateIn(Struct, forbid_unknown_fields=True):
    status: Annotated[str, Meta(pattern=r"^(nieuw|doorgestuurd|verbonden|afgewezen|afgerond)$")] | None = None
    note: Annotated[str, Meta(max_length=4000)] | None = None
    forwarded_to: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


class ForwardIn(Struct, forbid_unknown_fields=True):
    expert_id: Annotated[str, Meta(min_length=1, max_length=200)]
    cc_asker: bool = False
    note: Annotated[str, Meta(max_length=4000)] = ""


class ConfirmationOut(Struct):
    """The asker's own confirmation (``cc_asker``): never the expert's name or address."""

    to: str
    subject: str
    body: str
    mailto: str


class ForwardOut(Struct):
    """The message to the expert; ``sent`` false: no mail server is set, copy it (or open ``mailto``) — and the
    asker's ``confirmation``, when asked for, as a message of its own (``cc`` stays empty: a Cc would show the
    asker the expert's address)."""

    sent: bool
    to: str
    cc: str | None
    subject: str
    body: str
    mailto: str
    request: ContactRequestOut
    confirmation: ConfirmationOut | None = None


class CloseIn(Struct, forbid_unknown_fields=True):
    answered: bool
    outcome: Annotated[str, Meta(max_length=c.MAX_OUTCOME)] = ""
    themes: list[Slug] = []
    # as others would ask it, in the coordinator's words; the asker's own only if they agreed
    question: Annotated[str, Meta(max_length=c.MAX_PUBLIC_QUESTION)] | None = None


class FindingPreviewOut(Struct):
    """What closing a request as answered would publish, word for word (``text``); send ``digest`` back as
    ``preview`` to ``…/close`` to publish exactly this."""

    digest: str
    document_id: str
    title: str
    question: str
    outcome: str
    participants: list[str]
    ateliers: list[str]
    themes: list[str]
    own_words: bool
    text: str


class SuggestedOut(Struct):
    id: str
    name: str
    role: str
    organization: str
    has_email: bool


class SuggestionsOut(Struct):
    people: list[SuggestedOut]
    passed_over: list[PassedOverOut]


class AvailabilityIn(Struct, forbid_unknown_fields=True):
    unavailable_until: Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    max_per_month: Annotated[int, Meta(ge=0, le=100)] | None = None


class AvailabilityOut(Struct):
    unavailable_until: str | None
    max_per_month: int | None
    reason: str | None  # why this person is passed over today, if they are


# --- meetings planned from the agenda (service.meetings) ------------------------------------------------------


class MeetingIn(Struct, forbid_unknown_fields=True):
    title: Annotated[str, Meta(min_length=1, max_length=200)]
    date: Annotated[str, Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    step: Annotated[str, Meta(min_length=1, max_length=40)]
    ateliers: list[Slug] = []
    question_ids: list[Annotated[str, Meta(max_length=64)]] = []
    topic: Annotated[str, Meta(max_length=4000)] = ""
    k: Annotated[int, Meta(ge=1, le=20)] = 4


class MeetingMemberOut(Struct):
    id: str
    name: str
    why: list[str]


class MeetingOut(Struct):
    id: str
    title: str
    date: str
    step: str
    step_label: str
    ateliers: list[str]
    question_ids: list[str]
    topic: str
    status: str
    panel: list[MeetingMemberOut]
    passed_over: list[PassedOverOut]
    created_at: str
    report_id: str | None = None
    gehouden_at: str | None = None


# --- the coordinator's overview (service.overview) --------------------------------------------------------


class OverviewBucketOut(Struct):
    """The counts of one period (``period``: YYYY-MM, YYYY-Qn, YYYY or "totaal")."""

    period: str
    questions: int
    answered_well: int
    answered_poorly: int
    contact_requests: int
    by_status: dict[str, int]
    answered_by_contact: int
    connected: int
    median_days_to_connection: float | None
    meetings_held: int
    followers_reached: int = 0


class OverviewThemeOut(Struct):
    """A recurring theme: alike questions, the one nearest their centre, and when and where they were asked."""

    representative: str
    size: int
    ateliers: dict[str, int]
    periods: dict[str, int]
    first_asked: str
    last_asked: str


class OverviewOut(Struct):
    """The coordinator's overview: per period and in total, and the largest recurring themes."""

    period: str
    atelier: str | None
    since: str | None
    until: str | None
    answer_threshold: float
    buckets: list[OverviewBucketOut]
    total: OverviewBucketOut
    themes: list[OverviewThemeOut]


class AuditEntryOut(Struct):
    """One entry of the audit log: ids only (a removed person: the removal's marker)."""

    at: float
    time: str
    coordinator: str
    coordinator_name: str
    action: str
    label: str
    target_type: str
    target: str
    count: int | None = None
    cursor: str = ""  # ``before=`` of the page after the one this entry ends


class AuditOut(Struct):
    """A page of the audit log, newest first, with who may appear in it (id → name)."""

    entries: list[AuditEntryOut]
    total: int
    coordinators: dict[str, str]
    actions: dict[str, str]


class CoordinatorIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=120)]


class CoordinatorOut(Struct):
    """A coordinator (never their token, nor its hash)."""

    id: str
    name: str
    created_at: float
    removed_at: float | None = None


class CoordinatorAddedOut(Struct):
    """A coordinator just added, with their personal token: shown this once, kept only as a keyed hash."""

    id: str
    name: str
    token: str
