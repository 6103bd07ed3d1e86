"""What the API answers: every JSON answer, as a type.

The code builds these answers as plain dicts (the shape a person, a receipt or a report
already has in the core); the types here are what the OpenAPI document says of them, and
the API tests check every real answer against that document. Objects the API builds itself
are closed: a field the type does not declare is a drift the tests catch."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeVar

from msgspec import UNSET, Meta, Struct, UnsetType, field

from befriend.core.contract.answer import Answer
from befriend.core.contract.fields import (
    CircleId,
    Clock,
    Count,
    Day,
    Email,
    Hash,
    PlayId,
    Purpose,
    ReportId,
    Score,
    Source,
    StageId,
    Stamp,
    State,
    StepKind,
    Text,
    Topic,
    Where,
    choice,
    count,
    keys,
    value,
)
from befriend.core.contract.requests import (
    MAX_BATCH,
    MAX_ID,
    MAX_NAME,
    OFFERED,
    Cap,
    Pair,
    PersonRef,
    QuietHours,
)
from befriend.core.receipts import VERSION as RECEIPT_VERSION

Channel = Annotated[str, choice("channels")]
Nullable = Annotated[str | None, Meta()]
BatchCount = Annotated[int, Meta(ge=0, le=MAX_BATCH)]


class Health(Answer):
    status: Literal["ok"]


class OpenApi(Struct):
    """This document (open: only its top is described)."""

    schema_extra: ClassVar[dict[str, Any]] = {}
    openapi: Literal["3.1.0"]
    info: dict[str, Any]
    paths: dict[str, Any]


class FieldProblem(Answer):
    field: Text
    message: Text


class Problem(Struct):
    """An RFC 9457 problem; open, as the RFC allows extension members."""

    schema_extra: ClassVar[dict[str, Any]] = {}
    type: Annotated[str, Meta(extra_json_schema={"format": "uri"})]
    title: Text
    status: Annotated[int, Meta(ge=400, le=599)]
    detail: Text | UnsetType = UNSET
    errors: (
        Annotated[
            list[FieldProblem],
            Meta(min_length=1, description="With 422 invalid-input: every field that is wrong"),
        ]
        | UnsetType
    ) = UNSET


class Accepted(Answer):
    status: Literal["accepted"]
    detail: Text


HISTORY = ("since", "source", "policy_version")


class PermissionState(Answer):
    """One channel x purpose and where it stands; "never" is the one state without a
    history, and the others always have one."""

    schema_extra: ClassVar[dict[str, Any]] = {
        **OFFERED,
        "if": {"properties": {"state": {"const": "never"}}},
        "then": {
            "properties": {k: {"type": "null"} for k in ("since", "source", "policy_version")}
        },
        "else": {
            "properties": {k: {"type": "string"} for k in ("since", "source", "policy_version")}
        },
    }
    channel: Channel
    purpose: Purpose
    state: State
    since: Stamp | None
    source: Source | None
    policy_version: str | None


class Step(Answer):
    """A next step on offer, and the earliest moment it may be used."""

    play: Annotated[str, Meta(description="A play of the playbook, or refresh-<channel>-<purpose>")]
    kind: StepKind
    says: Text
    channel: Where
    purpose: str | None
    asks: Pair | None
    reason: Text
    earliest: Stamp
    ends: Annotated[
        Stamp | None,
        Meta(
            description="When the permission a refresh step asks about lapses unless the "
            "person renews it; null for every other step"
        ),
    ]


class QuietHoursOwn(Answer):
    """`own` is false when the playbook default applies."""

    from_: Clock = field(name="from")
    until: Clock
    own: bool


V = TypeVar("V")
# An object holding each of the playbook's channels as a key.
EveryChannel = Annotated[dict[str, V], keys("channels", every=True)]


class Settings(Answer):
    time_zone: Text
    # The language the person reads: theirs if they chose or confirmed in one, else the
    # playbook's default.
    language: Annotated[str, choice("languages")]
    quiet_hours: EveryChannel[QuietHoursOwn | None]
    max_per_week: EveryChannel[Cap | None]
    paused_until: Stamp | None
    handles: Annotated[dict[str, str | None], keys("handles", every=True)]


class Undeliverable(Answer):
    """Mail to the address came back for good: nothing more is sent to it until the
    person gives another address."""

    since: Stamp
    why: Annotated[
        str,
        Meta(
            description="`bounce`: a permanent bounce; `bounces`: a run of transient ones",
            examples=["bounce", "bounces"],
        ),
    ]


class EmailContact(Answer):
    address: Email
    since: Stamp
    undeliverable: Undeliverable | None


class PhoneContact(Answer):
    number: Annotated[str, Meta(pattern=r"^\+[1-9][0-9]{1,14}$", description="E.164")]
    since: Stamp
    verified: bool
    verified_at: Stamp | None


class PostalContact(Answer):
    lines: list[Text]
    postcode: Text
    city: Text
    region: Text
    country: Annotated[str, Meta(pattern="^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
    since: Stamp


class AskedPair(Answer):
    """A permission asked for, waiting for its contact point: a phone-channel one for the
    number to be verified, a postal-channel one for the address to be given."""

    channel: Channel
    purpose: Purpose


class Contacts(Answer):
    """Where we reach the person: each channel's address, with since when."""

    email: EmailContact
    phone: PhoneContact | None
    postal: PostalContact | None
    handles: Annotated[dict[str, str | None], keys("handles", every=True)]
    phone_asked: Annotated[
        list[AskedPair],
        Meta(description="Permissions on phone channels granted once the number is verified"),
    ]
    postal_asked: Annotated[
        list[AskedPair],
        Meta(description="Permissions on postal channels granted once an address is given"),
    ]


class Labelled(Answer):
    label: Text
    says: Text


class StageRef(Labelled):
    id: StageId


class CircleRef(Labelled):
    id: CircleId


class Scores(Answer):
    engagement: Score
    loyalty: Score
    influence: Score


class Relationship(Answer):
    """Where we think the person stands, and why: nothing is hidden."""

    stage: StageRef
    circle: CircleRef
    scores: Scores
    next_steps: list[Step]


class Person(Answer):
    """The person as they see themselves."""

    id: Annotated[str, Meta(min_length=1)]
    email: Email
    name: Annotated[str, Meta(max_length=MAX_NAME)]
    status: Literal["active"]
    created_at: Stamp
    confirmed_at: Stamp
    permissions: Annotated[
        list[PermissionState],
        count("grid", description="Every channel x purpose pair on offer, in playbook order."),
    ]
    interests: Annotated[list[Topic], count("topics", uniqueItems=True, minItems=0)]
    contacts: Contacts
    settings: Settings
    relationship: Relationship


class PersonWithToken(Person):
    """The person, with a fresh manage token replacing every older one."""

    manage_token: Text


class Confirmed(Answer):
    """Confirmed. Sent again within ten minutes, the same answer and token."""

    person: Person
    manage_token: Text


class PreviewPermission(Answer):
    channel: Channel
    purpose: Purpose
    channel_label: Text
    purpose_label: Text
    withheld_by_gpc: bool


class TopicLabel(Answer):
    id: Topic
    label: Text


class PolicyRef(Answer):
    version: Text
    url: Text


class Organisation(Answer):
    name: Text
    contact: Text


class ConfirmationPreview(Answer):
    """What confirming would grant, and the name typed at sign-up."""

    email: str
    name: str | None
    requested_at: Stamp
    time_zone: Text
    permissions: list[PreviewPermission]
    interests: list[TopicLabel]
    policy: PolicyRef
    organisation: Organisation


class Unsubscribed(Answer):
    status: Literal["unsubscribed"]
    channel: str | None
    purpose: Annotated[str | None, Meta(description="null: every purpose on the channel")]


class PurposeReceipt(Answer):
    purpose: Text
    purposeId: Text
    purposeCategory: Annotated[list[Text], Meta(min_length=1)]
    consentType: Literal["EXPLICIT"]
    piiCategory: list[Text]
    primaryPurpose: bool
    termination: Text
    thirdPartyDisclosure: bool
    status: State
    previousStatus: State


class Controller(Answer):
    piiController: Text
    contact: Text
    address: Text
    email: Text
    piiControllerUrl: Text


class ContactPointReceipt(Answer):
    """The contact point a permission was given for, as its grant's ledger entry recorded
    it: never the point itself."""

    kind: Annotated[str, Meta(examples=["email", "phone", "postal"])]
    key: Annotated[str | None, Meta(description="Its keyed hash (HMAC-SHA256, shortened)")]
    shown: Annotated[
        str | None,
        Meta(
            description="Masked: a number's country code and last three digits, an "
            "address's first letters and top-level domain, a postal address's city and "
            "country",
            examples=["+44 •••• ••• 123", "v•••@e•••.org", "Leeds, GB"],
        ),
    ]


class ServiceReceipt(Answer):
    service: Text
    channel: Text
    purposes: Annotated[list[PurposeReceipt], Meta(min_length=1)]
    contactPoint: Annotated[
        ContactPointReceipt | None,
        Meta(
            description="befriend's addition: the email address, number or postal address "
            "the channel's permission was last granted for (a withdrawal names the point "
            "whose permission ended); null when its grant recorded none"
        ),
    ]


class Receipt(Answer):
    """Kantara Consent Receipt v1.1; `status`, `previousStatus`, `channel`, `gpc`,
    `ledgerSeq` and `ledgerHash` are befriend's additions. Channels and purposes are
    historic: they need not be in today's playbook."""

    version: Literal[RECEIPT_VERSION]  # type: ignore[valid-type]
    jurisdiction: Text
    consentTimestamp: Annotated[int, Meta(description="Unix seconds")]
    collectionMethod: Text
    consentReceiptID: Text
    language: Text
    piiPrincipalId: Text
    piiControllers: Annotated[list[Controller], Meta(min_length=1)]
    policyUrl: Text
    policyVersion: Text
    services: Annotated[list[ServiceReceipt], Meta(min_length=1)]
    sensitive: bool
    spiCat: list[Text]
    gpc: bool
    ledgerSeq: Annotated[int, Meta(ge=1)]
    ledgerHash: Hash


class Receipts(Answer):
    """Oldest first."""

    receipts: list[Receipt]


class Change(Answer):
    what: Text
    old: Any
    new: Any


class Evidence(Answer):
    client: Text
    agent: Text
    # The language of the page the decision was made on; absent on entries written before
    # it was recorded, and where no page was involved.
    language: Text | UnsetType = UNSET


class LedgerEntry(Answer):
    """One hash-chained ledger entry: `hash` is SHA-256 over the canonical JSON of every
    other field."""

    person_id: Text
    seq: Annotated[int, Meta(ge=1)]
    at: Stamp
    action: Annotated[str, Meta(examples=["signup", "confirm", "permissions"])]
    source: Source
    changes: list[Change]
    policy_version: Text
    evidence: Annotated[
        Evidence | None, Meta(description="Keyed hashes of the client address and user agent")
    ]
    gpc: bool
    prev: Hash
    hash: Hash


class Stored(Answer):
    """The stored record as it is, including what the playbook no longer shows."""

    id: Text
    email: Email
    name: str
    status: Literal["active"]
    created_at: Stamp
    confirmed_at: Stamp
    permissions: dict[str, Any]
    interests: list[str]
    preferences: dict[str, Any]
    token_generation: Count
    seq: Count
    head: Hash
    request: None
    expires_at: None
    confirmed_request: Annotated[
        str | None,
        Meta(description="Which sign-up request was confirmed (its link works once)"),
    ]
    relationship: dict[str, Any]
    contact_points: Annotated[
        dict[str, Any], Meta(description="The number and postal address held, as kept")
    ]
    megaphone: Annotated[
        dict[str, Any],
        Meta(
            description="Where the relationship began, the invite code, and how many joined"
            " through the person (numbers, never who)"
        ),
    ]


class Transition(Answer):
    from_: Text = field(name="from")
    to: Text
    at: Stamp
    cause: Text


class PreviousEmailContact(Answer):
    """The address a confirmed change replaced, while the change can be undone from it."""

    address: Email
    changed_at: Stamp
    undo_until: Stamp


class ContactChange(Answer):
    """A contact point as one ledger entry recorded it: keyed hashes where the ledger keeps
    hashes (a changed address, a number, a postal address), the value where it keeps one
    (the address given at sign-up)."""

    seq: Annotated[int, Meta(ge=1)]
    at: Stamp
    action: Text
    source: Source
    what: Annotated[
        str,
        Meta(
            pattern="^(email|contact:.+)$",
            examples=["email", "contact:phone", "contact:phone:verified", "contact:postal"],
        ),
    ]
    old: Any
    new: Any


class ExportContacts(Contacts):
    """Every contact point held, and what the ledger recorded of them over time."""

    email_previous: PreviousEmailContact | None
    history: Annotated[list[ContactChange], Meta(description="In ledger order")]


class LookedAt(Answer):
    """A read of the person's data by the organisation, from the audit trail: the role
    that read, never who."""

    role: Literal["reader", "ingest", "admin"]
    action: Annotated[str, Meta(examples=["person.read", "audience.read"])]
    says: Annotated[str, Meta(description="What the action was, in the language asked for")]
    at: Stamp
    play: str | None


class Export(Answer):
    format: Literal["befriend-export/1"]
    exported_at: Stamp
    controller: Organisation
    person: Person
    contacts: ExportContacts
    stored: Stored
    ledger: list[LedgerEntry]
    transitions: list[Transition]
    receipts: list[Receipt]
    looked_at: Annotated[
        list[LookedAt],
        Meta(
            description="Who in the organisation, by role, read the person's data, newest "
            "first, while the audit trail keeps it ([audit] keep_days)"
        ),
    ]


class Policy(Answer):
    version: Annotated[str, choice("policy_versions")]  # the version in the language asked for
    url: Text
    text: Text


class ChannelInfo(Answer):
    id: Channel
    label: Text
    kind: Annotated[str, choice("channel_kinds")]
    quiet_hours: QuietHours | None
    countries: Annotated[
        list[Annotated[str, Meta(pattern="^[A-Z]{2}$")]],
        Meta(description="A phone channel's countries (ISO 3166-1 alpha-2) numbers may be from"),
    ]


class PurposeInfo(Answer):
    id: Purpose
    label: Text
    description: Text
    channels: Annotated[list[Channel], Meta(min_length=1, extra_json_schema={"uniqueItems": True})]
    gpc_opt_out: bool


class Option(Answer):
    id: Text
    label: Text


class SurveyInfo(Answer):
    found_us: list[Option]
    how_often: list[Option]


class Playbook(Answer):
    organisation: Organisation
    policy: Policy
    channels: Annotated[list[ChannelInfo], count("channels")]
    purposes: Annotated[list[PurposeInfo], count("purposes")]
    topics: Annotated[list[TopicLabel], count("topics")]
    max_per_week: Annotated[int, value("max_per_week")]
    stages: list[StageRef]
    circles: list[CircleRef]
    survey: SurveyInfo | None


# --- the marketer's API ---


class Play(Answer):
    """A play of the playbook: a next step, and whom it suits."""

    id: PlayId
    kind: StepKind
    says: Text
    stages: Annotated[list[StageId], Meta(min_length=1)]
    circles: Annotated[list[CircleId], Meta(description="Empty: any circle")]
    channel: Where
    purpose: Purpose | None
    interests: Annotated[list[Topic], Meta(description="Any of these; empty: everyone")]
    cooldown_days: Annotated[int, Meta(ge=0, le=3650)]
    priority: Annotated[int, Meta(ge=0, le=1000)]
    asks: Pair | None


class Plays(Answer):
    """In playbook order."""

    plays: list[Play]


class NextSteps(Answer):
    person: Text
    stage: StageId
    circle: CircleId
    next_steps: list[Step]


class AudienceMember(Answer):
    id: Text
    contact: Annotated[
        str | None,
        Meta(
            description="The one contact point the play's channel needs, and no other: the "
            "email address (email and events channels), the verified number in E.164 (phone; "
            "in CSV it starts with an apostrophe, as every cell that starts with `+` does), "
            "the postal address a line each (postal), the handle (social); null for a play "
            "shown on the person's page or a handle not given",
            examples=["visitor@example.org", "+447400123456"],
        ),
    ]
    name: Text
    stage: StageId
    circle: CircleId
    earliest: Annotated[
        str,
        Meta(
            description="When their window opens: the first moment the play may go to them "
            "(outside their quiet hours in their own time zone, under the weekly caps), now "
            "or later. Claim the contact then through POST /api/sends, which checks again",
            extra_json_schema={"format": "date-time"},
        ),
    ]


class Audience(Answer):
    play: PlayId
    people: Annotated[list[AudienceMember], Meta(max_length=200)]
    next: Annotated[
        str | None,
        Meta(
            description="The cursor of the next page; null once every stage and shard has been"
            " read. A page may hold fewer people than `limit`."
        ),
    ]


class AudienceExport(Answer):
    id: Annotated[str, Meta(pattern="^[0-9a-f]{32}$")]
    play: PlayId
    state: Annotated[
        Literal["running", "done", "failed"],
        Meta(description="A failed export wrote no file; start another."),
    ]
    started_at: Stamp
    finished_at: Stamp | None
    people: Annotated[
        Annotated[int, Meta(ge=0)] | None, Meta(description="People in the file, once done")
    ]
    download: Annotated[
        str | None,
        Meta(
            description="Once done: a link to the CSV file (the page-by-page CSV's columns "
            "and safe cells, every eligible person once) that works for 15 minutes; ask "
            "again for a fresh one. The file is kept for a day."
        ),
    ]
    download_expires_at: Stamp | None


Reason = Annotated[
    str,
    Meta(
        description="Why: malformed, unknown person, unknown type, or a timestamp more than a"
        " day in the future"
    ),
]


class EventAccepted(Answer, tag_field="result", tag="accepted"):
    id: Annotated[str, Meta(min_length=1, max_length=MAX_ID)]


class EventDuplicate(Answer, tag_field="result", tag="duplicate"):
    id: Annotated[str, Meta(min_length=1, max_length=MAX_ID)]


class EventRejected(Answer, tag_field="result", tag="rejected"):
    id: Annotated[str | None, Meta(description="null when the event had no usable id")]
    reason: Reason


class EventsAnswer(Answer):
    results: Annotated[
        list[EventAccepted | EventDuplicate | EventRejected],
        Meta(min_length=1, max_length=MAX_BATCH, description="One per event, in the order sent"),
    ]
    accepted: BatchCount
    duplicates: BatchCount
    rejected: BatchCount


class OutcomeAccepted(Answer, tag_field="result", tag="accepted"):
    person: PersonRef


class OutcomeRejected(Answer, tag_field="result", tag="rejected"):
    person: str | None
    reason: Reason


class OutcomesAnswer(Answer):
    results: Annotated[
        list[OutcomeAccepted | OutcomeRejected],
        Meta(min_length=1, max_length=MAX_BATCH, description="One per outcome, in the order sent"),
    ]
    accepted: BatchCount
    rejected: BatchCount


# --- sends ---

SendId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=MAX_ID,
        description="The send's id: outcomes attach to it (POST /api/sends/{send_id}/outcome)",
    ),
]
GateReason = Literal[
    "not-allowed",
    "not-offered",
    "unreachable",
    "cooldown",
    "paused",
    "weekly-cap",
    "quiet-hours",
]


class Send(Answer):
    """A contact the gate granted: recorded as the play sent, at `claimed_at`."""

    send: SendId
    play: PlayId
    person: Text
    channel: Where
    contact: Annotated[
        str | None,
        Meta(
            description="Where this contact goes, as an audience row names it: the email "
            "address (email and events channels), the verified number in E.164 (phone), the "
            "postal address a line each (postal), the handle (social); null for a play "
            "shown on the person's page",
            examples=["visitor@example.org", "+447400123456"],
        ),
    ]
    claimed_at: Stamp


class SendRefused(Problem, kw_only=True):
    """409 send-refused: the gate did not grant the contact; nothing was claimed."""

    reason: Annotated[
        GateReason,
        Meta(
            description="The first rule that holds the contact back: not-allowed (no "
            "permission for the play's channel and purpose), not-offered (the play does not "
            "suit the person now: stage, circle, interests, conditions, or nothing left to "
            "ask), unreachable (no verified or deliverable contact point), cooldown, "
            "paused, weekly-cap (theirs, the channel's or the playbook's), quiet-hours (in "
            "the person's own time zone)"
        ),
    ]
    not_before: Annotated[
        str | None,
        Meta(
            description="The next moment the claim would be granted if nothing but time "
            "changed; null when no moment is known (no permission, not suited, unreachable, "
            "a cap of 0)",
            extra_json_schema={"format": "date-time"},
        ),
    ]


class SendOutcome(Answer):
    """The outcome kept for a send."""

    send: SendId
    play: PlayId
    person: Text
    outcome: Literal["accepted", "declined"]
    at: Stamp


class Task(Answer):
    """A contact befriend claimed for a play it delivers but cannot make itself (a call, a
    letter, a social message, an event): open until a marketer says it is done."""

    send: SendId
    play: PlayId
    person: Text
    channel: Where
    contact: Annotated[
        str | None,
        Meta(
            description="Where it goes, as an audience row names it, read from the person "
            "now: the verified number in E.164, the postal address a line each, the handle; "
            "null where befriend keeps none (events)",
            examples=["+447400123456"],
        ),
    ]
    due_since: Stamp


class TaskList(Answer):
    """A page of the open tasks, oldest first, and the cursor of the next page (null: this
    was the last)."""

    tasks: list[Task]
    next: str | None


class TaskDone(Answer):
    """A task closed: its send's outcome is done."""

    send: SendId
    play: PlayId
    person: Text
    done_at: Stamp


# --- feedback sources ---


class FeedbackSource(Answer):
    """A tool registered to tell befriend what came back (its secret is never shown again)."""

    id: Annotated[str, Meta(pattern="^fs_[0-9a-f]{16}$")]
    kind: Literal["generic", "mailchimp", "brevo"]
    name: Text
    channel: Annotated[str | None, Meta(description="a mail tool's channel; null: email")]
    purpose: Annotated[str | None, Meta(description="a mail tool's purpose; null: all")]
    created_at: Stamp
    path: Annotated[str, Meta(pattern="^/api/feedback/fs_[0-9a-f]{16}$")]


class FeedbackSourceMade(Answer):
    """A source just added, with its secret, shown this once; `url_path` is where the tool
    posts (a Mailchimp source's carries the secret)."""

    source: FeedbackSource
    secret: Text
    url_path: Annotated[str, Meta(pattern="^/api/feedback/fs_[0-9a-f]{16}(/[A-Za-z0-9_-]+)?$")]


class FeedbackSourceList(Answer):
    sources: list[FeedbackSource]


# --- reports ---


class ReportLink(Answer):
    id: ReportId
    title: Text
    url: Annotated[str, Meta(pattern="^/api/reports/[a-z-]+$")]


class ReportList(Answer):
    reports: Annotated[list[ReportLink], count("reports")]


class Row(Answer):
    key: Annotated[
        str, Meta(description="A stable id of the row (a stage, a day, ...); `all` for a total")
    ]
    cells: Annotated[
        list[str | float | None],
        Meta(
            min_length=2,
            description="One per column; null where a value does not apply (a rate of nothing,"
            " an answer to a play that asks none)",
        ),
    ]


class ReportSection(Answer):
    """One table of a report, and the chart that suits it."""

    id: Annotated[str, Meta(min_length=1)]
    title: Text
    description: Text
    chart: Annotated[
        Literal["bar", "stacked", "line", "hbar"],
        Meta(description="The chart that suits the table; `hbar` is horizontal bars"),
    ]
    columns: Annotated[
        list[Text],
        Meta(
            min_length=2,
            description="Headings, in the request's language: the label column first, then "
            "one per value",
        ),
    ]
    kinds: Annotated[
        list[Literal["label", "count", "percent", "total", "text"]],
        Meta(
            min_length=2,
            description="What each column holds, the same in every language: `label` (the "
            "row's name, the first), `count`, `percent`, `total` (the sum of the counts "
            "beside it in its row) or `text`. A chart draws the counts (or, without any, "
            "the percentages), never totals, text or the `all` row",
        ),
    ]
    rows: list[Row]


class Report(Answer):
    """A report over the days `from` to `to`, both included, built from counters that
    every write moves: never from people. Its words (titles, descriptions, headings, the
    core's row labels, notes) and the playbook's labels are in the request's language
    (`?lang=`, the dashboard page's path, `Accept-Language`); ids, keys and kinds are
    not."""

    report: ReportId
    title: Text
    description: Text
    from_: Day = field(name="from")
    to: Day
    sections: Annotated[list[ReportSection], Meta(min_length=1)]
    notes: list[Text]


ANSWERS: tuple[type[Struct], ...] = (
    Health,
    OpenApi,
    Problem,
    Accepted,
    PermissionState,
    Step,
    Person,
    PersonWithToken,
    Confirmed,
    ConfirmationPreview,
    Unsubscribed,
    Receipt,
    Receipts,
    LedgerEntry,
    LookedAt,
    Export,
    Playbook,
    Play,
    Plays,
    NextSteps,
    AudienceMember,
    Audience,
    AudienceExport,
    EventsAnswer,
    OutcomesAnswer,
    Send,
    SendRefused,
    SendOutcome,
    TaskList,
    TaskDone,
    FeedbackSource,
    FeedbackSourceMade,
    FeedbackSourceList,
    ReportList,
    ReportSection,
    Report,
)
