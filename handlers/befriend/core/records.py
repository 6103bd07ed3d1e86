"""Person ⇄ plain JSON values, the shape the store keeps. Pure, so it is tested without AWS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from befriend.core.person import (
    Evidence,
    Permission,
    Person,
    Preferences,
    SignupRequest,
    iso,
    parse_iso,
)
from befriend.core.playbook import QuietHours, parse_quiet_hours


def person_to_record(person: Person) -> dict[str, Any]:
    prefs = person.preferences
    return {
        "id": person.id,
        "email": person.email,
        "name": person.name,
        "status": person.status,
        "created_at": iso(person.created_at),
        "confirmed_at": iso(person.confirmed_at),
        "permissions": {
            f"{c}:{p}": {
                "state": perm.state,
                "since": iso(perm.since),
                "source": perm.source,
                "policy_version": perm.policy_version,
            }
            for (c, p), perm in sorted(person.permissions.items())
        },
        "interests": sorted(person.interests),
        "preferences": {
            "time_zone": prefs.time_zone,
            "quiet_hours": {k: v.as_json() for k, v in prefs.quiet_hours.items()},
            "max_per_week": dict(prefs.max_per_week),
            "paused_until": iso(prefs.paused_until),
            "handles": dict(prefs.handles),
        },
        "token_generation": person.token_generation,
        "seq": person.seq,
        "head": person.head,
        "revision": person.revision,
        "request": _request_to_record(person.request),
        "expires_at": iso(person.expires_at),
    }


def person_from_record(rec: Mapping[str, Any]) -> Person:
    prefs = rec.get("preferences") or {}
    return Person(
        id=str(rec["id"]),
        email=str(rec["email"]),
        name=str(rec.get("name") or ""),
        status=rec["status"],
        created_at=parse_iso(rec["created_at"]),
        confirmed_at=_when(rec.get("confirmed_at")),
        permissions={
            _pair(key): Permission(
                v["state"], parse_iso(v["since"]), v["source"], v["policy_version"]
            )
            for key, v in (rec.get("permissions") or {}).items()
        },
        interests=frozenset(rec.get("interests") or ()),
        preferences=Preferences(
            time_zone=prefs.get("time_zone", "UTC"),
            quiet_hours={k: _quiet(v, k) for k, v in (prefs.get("quiet_hours") or {}).items()},
            max_per_week={k: int(v) for k, v in (prefs.get("max_per_week") or {}).items()},
            paused_until=_when(prefs.get("paused_until")),
            handles=dict(prefs.get("handles") or {}),
        ),
        token_generation=int(rec.get("token_generation", 0)),
        seq=int(rec.get("seq", 0)),
        head=str(rec.get("head", "")),
        revision=int(rec.get("revision", 0)),
        request=_request_from_record(rec.get("request")),
        expires_at=_when(rec.get("expires_at")),
    )


def _request_to_record(req: SignupRequest | None) -> dict[str, Any] | None:
    if req is None:
        return None
    return {
        "at": iso(req.at),
        "permissions": [f"{c}:{p}" for c, p in req.permissions],
        "interests": list(req.interests),
        "policy_version": req.policy_version,
        "source": req.source,
        "evidence": req.evidence.as_json(),
        "gpc": req.gpc,
    }


def _request_from_record(rec: Mapping[str, Any] | None) -> SignupRequest | None:
    if not rec:
        return None
    return SignupRequest(
        at=parse_iso(rec["at"]),
        permissions=tuple(_pair(p) for p in rec.get("permissions") or ()),
        interests=tuple(rec.get("interests") or ()),
        policy_version=str(rec["policy_version"]),
        source=str(rec["source"]),
        evidence=Evidence(**rec["evidence"]),
        gpc=bool(rec.get("gpc", False)),
    )


def _pair(key: str) -> tuple[str, str]:
    channel, purpose = key.split(":", 1)
    return (channel, purpose)


def _when(text: str | None) -> Any:
    return parse_iso(text) if text else None


def _quiet(value: Mapping[str, str], channel: str) -> QuietHours:
    return parse_quiet_hours(dict(value), f"preferences.quiet_hours.{channel}")
