"""The field types the contract is built from, and the marks for what the playbook decides.

A mark is an OpenAPI extension key (`x-playbook…`) on the field's schema; the document
builder replaces it with the playbook's own values, so enums and bounds stay true for
whichever playbook is served. Reading a request ignores marks: the commands check values
against the playbook itself, with messages that name the allowed ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from msgspec import Meta

# What a mark may name: a list of ids of the playbook (or of the code, such as the ledger's
# sources), "grid" (each offered channel x purpose pair), or one of the playbook's values.
Kind = Literal[
    "channels",
    "channels+site",
    "purposes",
    "topics",
    "stages",
    "circles",
    "plays",
    "events",
    "found_us",
    "how_often",
    "sources",
    "channel_kinds",
    "outcomes",
    "reports",
    "grid",
    "grid_pairs",
    "languages",
    "policy_versions",
]


def choice(kind: Kind, **schema: Any) -> Meta:
    """One of the playbook's `kind` (an enum in the document)."""
    return Meta(extra_json_schema={"x-playbook": kind, **schema})


def keys(kind: Literal["channels", "handles"], *, every: bool, **schema: Any) -> Meta:
    """An object keyed by the playbook's channels (or social channels, for handles): with
    `every`, each key is present; otherwise any of them may be."""
    return Meta(extra_json_schema={"x-playbook-keys": kind, "x-every": every, **schema})


def count(kind: Kind, **schema: Any) -> Meta:
    """A list holding exactly as many items as the playbook has `kind`."""
    return Meta(extra_json_schema={"x-playbook-count": kind, **schema})


def value(name: Literal["max_per_week"], **schema: Any) -> Meta:
    """The playbook's own `name` (a const in the document)."""
    return Meta(extra_json_schema={"x-playbook-const": name, **schema})


def at_most(name: Literal["max_per_week"], **schema: Any) -> Meta:
    """A number no greater than the playbook's own `name` (a maximum in the document)."""
    return Meta(extra_json_schema={"x-playbook-max": name, **schema})


def says(message: str, values: Mapping[str, object] | None = None, **constraints: Any) -> Meta:
    """What a person is told when the field has the wrong shape (reading uses it instead
    of the library's own words): a template (marked `N_`) of `values`."""
    return Meta(extra={"says": message, "says_values": dict(values or {})}, **constraints)


Text = str
Stamp = Annotated[
    str,
    Meta(extra_json_schema={"format": "date-time", "examples": ["2026-11-23T12:00:00.000000Z"]}),
]
Day = Annotated[str, Meta(extra_json_schema={"format": "date"})]
Hash = Annotated[str, Meta(pattern="^[0-9a-f]{64}$")]
Clock = Annotated[str, Meta(pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Count = Annotated[int, Meta(ge=0)]
Score = Annotated[float, Meta(ge=0)]
Email = Annotated[str, Meta(extra_json_schema={"format": "email"})]
State = Literal["granted", "withdrawn", "never"]
StepKind = Literal["message", "ask"]

Channel = Annotated[str, choice("channels")]
Purpose = Annotated[str, choice("purposes")]
Topic = Annotated[str, choice("topics")]
StageId = Annotated[str, choice("stages")]
CircleId = Annotated[str, choice("circles")]
PlayId = Annotated[str, choice("plays")]
Source = Annotated[str, choice("sources")]
ReportId = Annotated[str, choice("reports")]
# Where a next step or a play happens: a channel, or the person's own page.
Where = Annotated[str, choice("channels+site")]
