"""What callers send: every request body of the API, as a type.

Fields a body may leave out default to UNSET, so "absent" and "null" stay apart (null
means "back to the default" in a settings patch). The shape is checked by `reading`; what
depends on the playbook (a known channel, an offered pair, a real time zone) is checked by
`core.commands`, which names the allowed values."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, TypeVar

from msgspec import UNSET, Meta, Struct, UnsetType, field

from befriend.core.contract.fields import (
    Channel,
    Clock,
    Email,
    Purpose,
    Topic,
    at_most,
    choice,
    keys,
    says,
)
from befriend.core.words import N_

MAX_NAME = 200
MAX_EMAIL = 254
MAX_PAIRS = 200  # permissions or changes in one request
MAX_BATCH = 500  # events or outcomes in one request
MAX_ID = 200
MAX_REF = 254
MAX_STAMP = 40
ZONE_SAYS = N_("must be an IANA time zone name such as Europe/Berlin")
TOPICS_SAY = N_("must be a list of topic ids")
PAIRS_SAY = N_("must be a list of {channel, purpose}")
# The pairs a channel offers: the document adds the playbook's combinations as anyOf.
OFFERED: dict[str, Any] = {"x-playbook-offered": True}


class Body(Struct, forbid_unknown_fields=True):
    """A request body: an object that holds only the fields declared."""

    # Merged into the type's schema in the OpenAPI document (minProperties, marks...).
    schema_extra: ClassVar[dict[str, Any]] = {}


class Pair(Body):
    """A channel and a purpose it offers."""

    schema_extra: ClassVar[dict[str, Any]] = OFFERED
    channel: Channel
    purpose: Purpose


Pairs = Annotated[list[Pair], says(PAIRS_SAY, max_length=MAX_PAIRS)]
Topics = Annotated[list[Topic], says(TOPICS_SAY)]
PhoneIn = Annotated[
    str,
    Meta(
        description="A phone number with its country code (+44 ...), from a country the"
        " playbook's phone channels allow"
    ),
    says(N_("must be a phone number with its country code, like +44 7400 123456"), max_length=40),
]
EmailIn = Annotated[
    Email, says(N_("an email address is required"), extra_json_schema={"maxLength": MAX_EMAIL})
]
Name = Annotated[str, says(N_("must be a string"), extra_json_schema={"maxLength": MAX_NAME})]
Zone = Annotated[
    str,
    says(ZONE_SAYS, min_length=1, max_length=64, extra_json_schema={"examples": ["Europe/Berlin"]}),
]
ConfirmToken = Annotated[
    str,
    says(
        N_("the token from the confirmation link is required"),
        min_length=1,
        max_length=1000,
        description="The token of the confirmation link (`/confirm/#t=…`)",
    ),
]
FLAG_SAYS = N_("must be true or false")
Flag = Annotated[bool, says(FLAG_SAYS)]


# Where a sign-up came from: the parameters of the address its page was opened with.
# Unknown keys are dropped and values cut at 100 characters when read (core/megaphone.py).
OriginIn = Annotated[
    dict[str, Annotated[str, Meta(max_length=2000)]],
    Meta(
        description="The sign-up page's address parameters: `utm_source`, `utm_medium`,"
        " `utm_campaign`, `ref` (a tracked link) and `invite` (a person's invite code);"
        " other keys are dropped, values cut at 100 characters",
        max_length=20,
        extra_json_schema={"examples": [{"utm_source": "talk", "ref": "k7m2q9xa"}]},
    ),
    says(N_("must be an object of text values, as the page's address gave them")),
]


class Signup(Body):
    """A sign-up (double opt-in): nothing is granted until the person confirms by mail."""

    email: EmailIn
    # The current version in one of the playbook's languages: the policy the person read.
    policy_version: Annotated[
        str, choice("policy_versions"), says(N_("must be the current policy version"))
    ]
    name: Name | UnsetType = UNSET
    interests: Topics | UnsetType = UNSET
    permissions: Pairs | UnsetType = UNSET
    time_zone: Zone | UnsetType = UNSET
    phone: PhoneIn | UnsetType = UNSET
    origin: OriginIn | UnsetType = UNSET


class SignupForm(Body):
    """The no-JavaScript form; `permissions` repeats as `channel:purpose`."""

    email: str
    policy_version: Annotated[str, choice("policy_versions")]
    name: str | UnsetType = UNSET
    time_zone: str | UnsetType = UNSET
    interests: list[Topic] | UnsetType = UNSET
    permissions: list[Annotated[str, choice("grid_pairs")]] | UnsetType = UNSET
    # Sent on only when a phone channel is ticked (the field is always on the page).
    phone: str | UnsetType = UNSET
    # Hidden fields: the address's parameters, where the sign-up came from.
    utm_source: str | UnsetType = UNSET
    utm_medium: str | UnsetType = UNSET
    utm_campaign: str | UnsetType = UNSET
    ref: str | UnsetType = UNSET
    invite: str | UnsetType = UNSET


class PhoneNumber(Body):
    """A number for the phone channels: a code is texted to it (`/verify` takes it)."""

    number: PhoneIn
    carry_over: Annotated[
        bool,
        Meta(
            description="Ask again, for the new number, for the permissions given for the old"
            " one (they end when the number changes)"
        ),
        says(N_("must be true or false")),
    ] = False


class PhoneCode(Body):
    """The code texted to the person's number."""

    code: Annotated[
        str,
        Meta(pattern="^[0-9]{6}$", description="The six digits texted"),
        says(N_("must be the 6 digits we sent")),
    ]


class EmailOnly(Body):
    """Mail me a fresh link to my preferences."""

    email: EmailIn


class TokenOnly(Body):
    """A confirmation link's token."""

    token: ConfirmToken


class PostalAddressIn(Body):
    """A postal address, checked for shape only; the whole address each time."""

    lines: Annotated[
        list[str],
        says(
            N_("a list of 1 to 4 address lines is required"),
            min_length=1,
            max_length=4,
            extra_json_schema={"items": {"maxLength": 100}},
        ),
    ]
    country: Annotated[
        str,
        says(
            N_("must be an ISO 3166-1 alpha-2 country code, such as GB or DE"),
            min_length=2,
            max_length=2,
        ),
    ]
    postcode: Annotated[str, says(N_("must be a string"), max_length=40)] = ""
    city: Annotated[str, says(N_("must be a string"), max_length=40)] = ""
    region: Annotated[str, says(N_("must be a string"), max_length=40)] = ""
    carry_over: Annotated[
        bool,
        Meta(
            description="Keep the postal permissions given for the old address, for this one"
            " (otherwise a new address ends them)"
        ),
        says(N_("must be true or false")),
    ] = False


class NewEmail(Body):
    """Move my sign-up to another address: nothing changes until it is confirmed from there."""

    email: EmailIn


class EmailLink(Body):
    """The token of an address change's link: confirming the new address, or undoing the
    change from the old one."""

    token: Annotated[
        str,
        says(
            N_("the token from the link in the mail is required"),
            min_length=1,
            max_length=1000,
            description="The token of the link in the mail (`/email/#t=…` or `/email/#undo=…`)",
        ),
    ]


class Confirm(Body):
    """The person's own click on the confirmation page."""

    token: ConfirmToken
    permissions: (
        Annotated[
            list[Pair],
            says(
                PAIRS_SAY,
                max_length=MAX_PAIRS,
                description="The requested permissions to grant (default: all of them); one"
                " that was not requested is refused",
            ),
        ]
        | UnsetType
    ) = UNSET
    keep_name: (
        Annotated[
            bool,
            says(
                N_("must be true or false"),
                description="Keep the name typed at sign-up (default true)",
            ),
        ]
        | UnsetType
    ) = UNSET


class PermissionChange(Body):
    """Grant or withdraw one channel x purpose."""

    schema_extra: ClassVar[dict[str, Any]] = OFFERED
    channel: Channel
    purpose: Purpose
    granted: Flag


class PermissionChanges(Body):
    changes: Annotated[
        list[PermissionChange],
        says(
            N_("a non-empty list of {channel, purpose, granted} is required"),
            min_length=1,
            max_length=MAX_PAIRS,
        ),
    ]


class Interests(Body):
    interests: Annotated[
        list[Topic], says(N_("the full list of interests is required (it replaces the old one)"))
    ]


class QuietHours(Body):
    """A daily window in the person's own time zone: from one time until another."""

    from_: Annotated[Clock, says(N_("must be a 24-hour time like 21:00"))] = field(name="from")
    until: Annotated[Clock, says(N_("must be a 24-hour time like 21:00"))]


KEYED_SAYS = N_("must be an object keyed by channel id")
V = TypeVar("V")
# An object holding any of the playbook's channels as keys.
SomeChannels = Annotated[dict[str, V], keys("channels", every=False), says(KEYED_SAYS)]
Cap = Annotated[int, Meta(ge=0), at_most("max_per_week")]
PauseUntil = Annotated[
    str,
    says(
        N_("must be an ISO 8601 date or date-time, or null"),
        max_length=MAX_STAMP,
        description="A future ISO 8601 date or date-time; null ends a pause",
    ),
]


class SettingsPatch(Body):
    """Only the keys sent change; null means back to the default."""

    schema_extra: ClassVar[dict[str, Any]] = {"minProperties": 1}
    name: Name | UnsetType = UNSET
    time_zone: Zone | UnsetType = UNSET
    language: (
        Annotated[str, choice("languages"), says(N_("a language the site speaks"))] | UnsetType
    ) = UNSET
    quiet_hours: SomeChannels[QuietHours | None] | UnsetType = UNSET
    max_per_week: SomeChannels[Cap | None] | UnsetType = UNSET
    paused_until: PauseUntil | UnsetType | None = UNSET
    handles: (
        Annotated[dict[str, str | None], keys("handles", every=False), says(KEYED_SAYS)] | UnsetType
    ) = UNSET


Score10 = Annotated[int, says(N_("must be a whole number from 0 to 10"), ge=0, le=10)]


class Survey(Body):
    """The engagement survey; every question may be skipped, but not all of them."""

    schema_extra: ClassVar[dict[str, Any]] = {"minProperties": 1}
    found_us: Annotated[str, choice("found_us")] | UnsetType = UNSET
    how_often: Annotated[str, choice("how_often")] | UnsetType = UNSET
    preferred_channel: Channel | UnsetType = UNSET
    interests: Topics | UnsetType = UNSET
    recommend: (
        Annotated[int, says(N_("must be a whole number from 0 to 10"), ge=0, le=10)] | UnsetType
    ) = UNSET


PersonRef = Annotated[
    str,
    Meta(
        min_length=1, max_length=MAX_REF, description="A person id, or the person's email address"
    ),
]
EventAt = Annotated[
    str,
    Meta(
        max_length=MAX_STAMP,
        description="ISO 8601 with an offset; at most a day ahead",
        extra_json_schema={"format": "date-time", "examples": ["2026-11-23T12:00:00+01:00"]},
    ),
]


class EventIn(Body):
    """Something a person did, from the marketer's own systems."""

    id: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=MAX_ID,
            description="Your id for the event: a second event with it is a duplicate",
        ),
    ]
    person: PersonRef
    type: Annotated[str, choice("events"), Meta(min_length=1, max_length=MAX_ID)]
    at: EventAt
    value: Annotated[float, Meta(description="Checked; not stored yet")] | UnsetType = UNSET


class OutcomeIn(Body):
    """What came of a play for one person."""

    person: PersonRef
    outcome: Annotated[str, choice("outcomes")]
    at: EventAt


# Each item of a batch is read on its own (a bad one is rejected with a reason while the
# others still count), so the batch itself only checks it holds a list of the right length.
EventBatch = Annotated[
    list[Any],
    says(
        N_("must be a list of 1 to %(n)d events"),
        {"n": MAX_BATCH},
        min_length=1,
        max_length=MAX_BATCH,
    ),
    Meta(extra_json_schema={"items": {"$ref": "#/components/schemas/EventIn"}}),
]
OutcomeBatch = Annotated[
    list[Any],
    says(
        N_("must be a list of 1 to %(n)d outcomes"),
        {"n": MAX_BATCH},
        min_length=1,
        max_length=MAX_BATCH,
    ),
    Meta(extra_json_schema={"items": {"$ref": "#/components/schemas/OutcomeIn"}}),
]


class Events(Body):
    events: EventBatch


class Outcomes(Body):
    outcomes: OutcomeBatch


class SendIn(Body):
    """One contact claimed through the send gate before it goes out."""

    play: Annotated[str, choice("plays"), Meta(min_length=1, max_length=MAX_ID)]
    person: PersonRef
    idempotency_key: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=255,
            description="Your id for this one contact: a claim sent again with it, for the "
            "same play and person, within 24 hours is answered as the first grant was and "
            "claims nothing more",
        ),
    ]


class SendOutcomeIn(Body):
    """What came of one claimed send."""

    outcome: Literal["accepted", "declined"]
    at: EventAt | UnsetType = UNSET


class OneClick(Body):
    """RFC 8058: the form a mail client posts to unsubscribe in one click."""

    list_unsubscribe: Literal["One-Click"] = field(name="List-Unsubscribe")


class ToolFeedbackIn(Body):
    """What another sending tool says about one person (a generic feedback source),
    signed per Standard Webhooks."""

    action: Literal["unsubscribe", "complaint", "bounce"]
    channel: Channel
    at: EventAt
    reference: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=255,
            description="Your id for this notice: the same again changes nothing",
        ),
    ]
    person: (
        Annotated[str, Meta(min_length=1, max_length=MAX_ID, description="A person id")] | UnsetType
    ) = UNSET
    email: EmailIn | UnsetType = UNSET
    purpose: Purpose | UnsetType = UNSET
    schema_extra: ClassVar[dict[str, Any]] = {
        "oneOf": [{"required": ["person"]}, {"required": ["email"]}]
    }


class FeedbackSourceIn(Body):
    """A tool to take feedback from: its kind and a name; a mail tool's channel and
    purpose (its notices are about those; the email channel, whole, if not given)."""

    kind: Literal["generic", "mailchimp", "brevo"]
    name: Annotated[
        str, says(N_("must be a name of 1 to 100 characters"), min_length=1, max_length=100)
    ]
    channel: Channel | UnsetType = UNSET
    purpose: Purpose | UnsetType = UNSET


class InviterShown(Body):
    """Whether the person's page says who invited them (only they decide)."""

    show: Flag


class TrackedLinkIn(Body):
    """A tracked sign-up link: the campaign it counts sign-ups under, and their source."""

    campaign: Annotated[
        str,
        says(
            N_("must be a campaign name of 1 to 40 letters, digits, dots, dashes or underscores"),
            min_length=1,
            max_length=40,
            pattern="^[A-Za-z0-9._-]+$",
        ),
    ]
    source: (
        Annotated[
            str,
            says(
                N_("must be a source name of 1 to 40 letters, digits, dots, dashes or underscores"),
                min_length=1,
                max_length=40,
                pattern="^[A-Za-z0-9._-]+$",
            ),
        ]
        | UnsetType
    ) = UNSET


REQUESTS: tuple[type[Body], ...] = (
    Pair,
    Signup,
    SignupForm,
    InviterShown,
    TrackedLinkIn,
    EmailOnly,
    TokenOnly,
    Confirm,
    PermissionChange,
    PermissionChanges,
    Interests,
    SettingsPatch,
    Survey,
    EventIn,
    OutcomeIn,
    Events,
    Outcomes,
    SendIn,
    SendOutcomeIn,
    OneClick,
    PhoneNumber,
    PhoneCode,
    NewEmail,
    EmailLink,
    PostalAddressIn,
    ToolFeedbackIn,
    FeedbackSourceIn,
)
