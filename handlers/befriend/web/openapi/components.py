"""The component schemas, derived from the contract's types and filled in for a playbook.

msgspec writes each request and answer type as JSON Schema; what the playbook decides was
marked on the types (`core.contract.fields`) and is replaced here by the playbook's own
values: enums of its channels and topics, objects keyed by its channels, lists as long as
its grid, and the pairs each channel offers."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import msgspec
from msgspec import Struct

from befriend.core.contract import accounts, answers, audit, megaphone, requests, webhooks
from befriend.core.engagement import OUTCOMES
from befriend.core.ledger import SOURCES
from befriend.core.playbook import CHANNEL_KINDS, HOW_OFTEN, SITE, Playbook
from befriend.core.reports import REPORTS

Schema = dict[str, Any]
REF = "#/components/schemas/{name}"
TYPES: tuple[type[Struct], ...] = (
    *requests.REQUESTS,
    *answers.ANSWERS,
    *webhooks.TYPES_OF_CONTRACT,
    *megaphone.TYPES_OF_CONTRACT,
    *audit.TYPES_OF_CONTRACT,
    *accounts.TYPES_OF_CONTRACT,
)

_VALUES: dict[str, Callable[[Playbook], list[Any]]] = {
    "channels": lambda pb: list(pb.channels),
    "channels+site": lambda pb: [*pb.channels, SITE],
    "purposes": lambda pb: list(pb.purposes),
    "topics": lambda pb: list(pb.topics),
    "stages": lambda pb: [x.id for x in pb.stages],
    "circles": lambda pb: [x.id for x in pb.circles],
    "plays": lambda pb: list(pb.plays),
    "events": lambda pb: list(pb.events),
    "found_us": lambda pb: list(pb.survey.found_us) if pb.survey else [],
    "how_often": lambda pb: list(HOW_OFTEN),
    "sources": lambda pb: list(SOURCES),
    "channel_kinds": lambda pb: list(CHANNEL_KINDS),
    "outcomes": lambda pb: list(OUTCOMES),
    "reports": lambda pb: list(REPORTS),
    "grid": lambda pb: list(pb.grid()),
    "grid_pairs": lambda pb: [f"{c}:{p}" for c, p in pb.grid()],
    "languages": lambda pb: list(pb.organisation.site_languages),
    "policy_versions": lambda pb: list(pb.policy_versions.values()),
}
_CONSTS: dict[str, Callable[[Playbook], Any]] = {
    "max_per_week": lambda pb: pb.max_per_week,
}


def components(pb: Playbook) -> dict[str, Schema]:
    """Every request and answer type as a component schema, true for `pb`."""
    _, found = msgspec.json.schema_components(TYPES, ref_template=REF)
    extras = _extras(requests) | _extras(answers) | _extras(webhooks)
    return {
        name: _fill({k: v for k, v in schema.items() if k != "title"} | extras.get(name, {}), pb)
        for name, schema in sorted(found.items())
    }


def ref(kind: type[Struct]) -> Schema:
    """A reference to the component of a contract type."""
    if kind not in TYPES:
        raise KeyError(f"{kind.__name__} is not in the contract's REQUESTS or ANSWERS")
    return {"$ref": REF.format(name=kind.__name__)}


def _extras(module: ModuleType) -> dict[str, Schema]:
    """What each type adds to its schema beyond its fields (`schema_extra`)."""
    return {
        name: dict(getattr(kind, "schema_extra", {}))
        for name, kind in vars(module).items()
        if isinstance(kind, type) and issubclass(kind, Struct) and getattr(kind, "schema_extra", {})
    }


def _fill(node: Any, pb: Playbook) -> Any:
    if isinstance(node, list):
        return [_fill(item, pb) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: _fill(item, pb) for key, item in node.items()}
    if "x-playbook" in schema:
        schema.pop("type", None)
        schema["enum"] = _VALUES[schema.pop("x-playbook")](pb)
    if "x-playbook-const" in schema:
        schema.pop("type", None)
        schema["const"] = _CONSTS[schema.pop("x-playbook-const")](pb)
    if "x-playbook-max" in schema:
        schema["maximum"] = _CONSTS[schema.pop("x-playbook-max")](pb)
    if "x-playbook-count" in schema:
        size = len(_VALUES[schema.pop("x-playbook-count")](pb))
        schema.setdefault("minItems", size)
        schema["maxItems"] = size
    if "x-playbook-keys" in schema:
        schema = _keyed(schema, pb)
    if schema.pop("x-playbook-offered", False):
        schema["anyOf"] = _offered(pb)
    return schema


def _keyed(schema: Schema, pb: Playbook) -> Schema:
    """An object keyed by channel: each channel (or each social channel, for handles) a
    property of its own, every one of them or any of them."""
    every = schema.pop("x-every")
    each: Schema = schema.pop("additionalProperties")
    props: dict[str, Schema]
    if schema.pop("x-playbook-keys") == "handles":
        props = {
            cid: _with_pattern(each, ch.handle_pattern)
            for cid, ch in pb.channels.items()
            if ch.kind == "social"
        }
    else:
        props = dict.fromkeys(pb.channels, each)
    schema.pop("propertyNames", None)
    return {
        **schema,
        "properties": props,
        "required": list(props) if every else [],
        "additionalProperties": False,
    }


def _with_pattern(schema: Schema, pattern: str | None) -> Schema:
    if pattern is None:
        return schema
    if schema.get("type") == "string":
        return {**schema, "pattern": pattern}
    if "anyOf" in schema:
        return {**schema, "anyOf": [_with_pattern(s, pattern) for s in schema["anyOf"]]}
    return schema


def _offered(pb: Playbook) -> list[Schema]:
    """Each channel with the purposes it offers: a pair must match one of them."""
    return [
        {
            "properties": {
                "channel": {"const": cid},
                "purpose": {"enum": [p for c, p in pb.grid() if c == cid]},
            }
        }
        for cid in pb.channels
        if any(c == cid for c, _ in pb.grid())
    ]
