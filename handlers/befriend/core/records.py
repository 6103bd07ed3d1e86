"""Person ⇄ plain JSON values, the shape the store keeps. Pure, so it is tested without AWS."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from befriend.core.contact_points import (
    ContactPoints,
    Phone,
    PostalAddress,
    PreviousEmail,
    Undeliverable,
)
from befriend.core.person import (
    Evidence,
    Megaphone,
    Origin,
    Permission,
    Person,
    Preferences,
    Relationship,
    SignupRequest,
    Tally,
    identity,
    iso,
    parse_iso,
    postal_json,
)
from befriend.core.playbook import QuietHours, parse_quiet_hours


def person_to_record(person: Person) -> dict[str, Any]:
    prefs = person.preferences
    return {
        **identity(person),
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
            **({"language": prefs.language} if prefs.language else {}),
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
        "confirmed_request": person.confirmed_request,
        "relationship": _relationship_to_record(person.relationship),
        "contact_points": contact_points_to_record(person.contact_points),
        "megaphone": _megaphone_to_record(person.megaphone),
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
            language=str(prefs.get("language", "")),
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
        confirmed_request=rec.get("confirmed_request"),
        relationship=_relationship_from_record(rec.get("relationship") or {}),
        contact_points=contact_points_from_record(rec.get("contact_points")),
        megaphone=_megaphone_from_record(rec.get("megaphone")),
    )


def _megaphone_to_record(m: Megaphone) -> dict[str, Any]:
    return {
        "origin": _origin_to_record(m.origin),
        "invite": m.invite,
        "joined": m.joined,
        "joined_second": m.joined_second,
        "unscored": m.unscored,
        "credit_day": m.credit_day,
        "credit_day_count": m.credit_day_count,
        "show_inviter": m.show_inviter,
        "reached": _moments(m.reached),
    }


def _megaphone_from_record(rec: Mapping[str, Any] | None) -> Megaphone:
    if not rec:
        return Megaphone()
    return Megaphone(
        origin=_origin_from_record(rec.get("origin")),
        invite=rec.get("invite"),
        joined=int(rec.get("joined", 0)),
        joined_second=int(rec.get("joined_second", 0)),
        unscored=int(rec.get("unscored", 0)),
        credit_day=str(rec.get("credit_day") or ""),
        credit_day_count=int(rec.get("credit_day_count", 0)),
        show_inviter=bool(rec.get("show_inviter", False)),
        reached=_parse_moments(rec.get("reached")),
    )


def _origin_to_record(origin: Origin) -> dict[str, Any]:
    return origin.as_json()


def _origin_from_record(rec: Mapping[str, Any] | None) -> Origin:
    if not rec:
        return Origin()
    return Origin(
        params=tuple((str(k), str(v)) for k, v in (rec.get("params") or {}).items()),
        source=str(rec.get("source") or "direct"),
        campaign=str(rec.get("campaign") or ""),
        invited_by=rec.get("invited_by"),
    )


def contact_points_to_record(points: ContactPoints) -> dict[str, Any]:
    return {
        "email_since": iso(points.email_since),
        "phone": None if points.phone is None else _phone_to_record(points.phone),
        "phone_asked": [f"{c}:{p}" for c, p in points.phone_asked],
        "postal_asked": [f"{c}:{p}" for c, p in points.postal_asked],
        "postal": None
        if points.postal is None
        else {**postal_json(points.postal), "key": points.postal.key},
        "email_previous": None
        if points.email_previous is None
        else {
            "address": points.email_previous.address,
            "changed_at": iso(points.email_previous.changed_at),
            "until": iso(points.email_previous.until),
        },
        "email_undeliverable": _undeliverable_to_record(points.email_undeliverable),
        "email_soft_bounces": points.email_soft_bounces,
    }


def contact_points_from_record(rec: Mapping[str, Any] | None) -> ContactPoints:
    if not rec:
        return ContactPoints()
    phone, postal = rec.get("phone"), rec.get("postal")
    previous = rec.get("email_previous")
    return ContactPoints(
        email_since=_when(rec.get("email_since")),
        phone=_phone_from_record(phone),
        postal=None
        if not postal
        else PostalAddress(
            tuple(str(line) for line in postal["lines"]),
            str(postal["postcode"]),
            str(postal["city"]),
            str(postal["region"]),
            str(postal["country"]),
            parse_iso(postal["since"]),
            key=str(postal.get("key") or ""),
        ),
        phone_asked=tuple(_pair(p) for p in rec.get("phone_asked") or ()),
        postal_asked=tuple(_pair(p) for p in rec.get("postal_asked") or ()),
        email_previous=None
        if not previous
        else PreviousEmail(
            str(previous["address"]),
            parse_iso(previous["changed_at"]),
            parse_iso(previous["until"]),
        ),
        email_undeliverable=_undeliverable_from_record(rec.get("email_undeliverable")),
        email_soft_bounces=int(rec.get("email_soft_bounces") or 0),
    )


def _undeliverable_to_record(found: Undeliverable | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {"since": iso(found.since), "why": found.why, "feedback": found.feedback}


def _undeliverable_from_record(rec: Mapping[str, Any] | None) -> Undeliverable | None:
    if not rec:
        return None
    return Undeliverable(parse_iso(rec["since"]), str(rec["why"]), str(rec["feedback"]))


def _relationship_to_record(rel: Relationship) -> dict[str, Any]:
    return {
        "tallies": {
            k: {"value": t.value, "as_of": iso(t.as_of), "count": t.count, "last": iso(t.last)}
            for k, t in sorted(rel.tallies.items())
        },
        "stage": rel.stage,
        "circle": rel.circle,
        "stage_since": iso(rel.stage_since),
        "declined": _moments(rel.declined),
        "last_sent": _moments(rel.last_sent),
        "asked": _moments(rel.asked),
        "accepted": _moments(rel.accepted),
        "contacts": [[channel, iso(at)] for channel, at in rel.contacts],
        "last_used": {f"{c}:{p}": iso(at) for (c, p), at in sorted(rel.last_used.items())},
        "survey": dict(rel.survey),
        "survey_scored": iso(rel.survey_scored),
        "last_seen": iso(rel.last_seen),
    }


def _relationship_from_record(rec: Mapping[str, Any]) -> Relationship:
    return Relationship(
        tallies={
            k: Tally(
                float(t["value"]), parse_iso(t["as_of"]), int(t["count"]), parse_iso(t["last"])
            )
            for k, t in (rec.get("tallies") or {}).items()
        },
        stage=str(rec.get("stage", "")),
        circle=str(rec.get("circle", "")),
        stage_since=_when(rec.get("stage_since")),
        declined=_parse_moments(rec.get("declined")),
        last_sent=_parse_moments(rec.get("last_sent")),
        asked=_parse_moments(rec.get("asked")),
        accepted=_parse_moments(rec.get("accepted")),
        contacts=tuple((str(c), parse_iso(at)) for c, at in rec.get("contacts") or ()),
        last_used={_pair(k): parse_iso(v) for k, v in (rec.get("last_used") or {}).items()},
        survey=dict(rec.get("survey") or {}),
        survey_scored=_survey_scored(rec),
        last_seen=_when(rec.get("last_seen")),
    )


def _survey_scored(rec: Mapping[str, Any]) -> datetime | None:
    """When a survey answer last counted. Records from before it was kept have no such
    field: then every answer counted, so the kept answer's own moment is the last one."""
    text = rec["survey_scored"] if "survey_scored" in rec else (rec.get("survey") or {}).get("at")
    return parse_iso(text) if text else None


def _moments(values: Mapping[str, datetime]) -> dict[str, str | None]:
    return {k: iso(v) for k, v in sorted(values.items())}


def _parse_moments(values: Mapping[str, str] | None) -> dict[str, datetime]:
    return {k: parse_iso(v) for k, v in (values or {}).items()}


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
        **({"phone": _phone_to_record(req.phone)} if req.phone else {}),
        **({"origin": _origin_to_record(req.origin)} if req.origin != Origin() else {}),
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
        phone=_phone_from_record(rec.get("phone")),
        origin=_origin_from_record(rec.get("origin")),
    )


def _phone_to_record(phone: Phone) -> dict[str, Any]:
    return {
        "number": phone.number,
        "since": iso(phone.since),
        "verified_at": iso(phone.verified_at),
        "key": phone.key,
        "shown": phone.shown,
        "undeliverable": _undeliverable_to_record(phone.undeliverable),
    }


def _phone_from_record(rec: Mapping[str, Any] | None) -> Phone | None:
    if not rec:
        return None
    return Phone(
        str(rec["number"]),
        parse_iso(rec["since"]),
        _when(rec.get("verified_at")),
        key=str(rec.get("key") or ""),
        shown=str(rec.get("shown") or ""),
        undeliverable=_undeliverable_from_record(rec.get("undeliverable")),
    )


def _pair(key: str) -> tuple[str, str]:
    channel, purpose = key.split(":", 1)
    return (channel, purpose)


def _when(text: str | None) -> Any:
    return parse_iso(text) if text else None


def _quiet(value: Mapping[str, str], channel: str) -> QuietHours:
    return parse_quiet_hours(dict(value), f"preferences.quiet_hours.{channel}")
