"""Reading playbook TOML into a `Playbook`, checking every key on the way."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from typing import Any

from befriend.core.errors import PlaybookError
from befriend.core.frozen import replace
from befriend.core.links import HOST
from befriend.core.playbook import (
    CHANNEL_KINDS,
    DELIVERED_BY,
    SCORES,
    SITE,
    SMS_OPT_IN,
    SMS_OPT_OUT,
    AuditRules,
    Channel,
    Circle,
    EventType,
    Feedback,
    MegaphoneRules,
    Organisation,
    Play,
    Playbook,
    Policy,
    Purpose,
    Reports,
    Stage,
    Survey,
    parse_quiet_hours,
)
from befriend.core.rules import parse_rule

LANGUAGE = re.compile(r"[a-z]{2,3}")

_ID = re.compile(r"[a-z][a-z0-9-]{0,39}")


def parse_playbook(text: str) -> Playbook:
    """Parse and validate playbook TOML; raise PlaybookError naming the offending key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlaybookError(f"the playbook is not valid TOML: {exc}") from exc
    return _Reader(raw).playbook()


class _Reader:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def playbook(self) -> Playbook:
        org = _table(self.raw, "organisation")
        language = _text(org, "organisation.language", "en")
        organisation = Organisation(
            name=_text(org, "organisation.name"),
            sender=_text(org, "organisation.sender"),
            contact=_text(org, "organisation.contact"),
            address=_text(org, "organisation.address"),
            jurisdiction=_text(org, "organisation.jurisdiction"),
            language=language,
            link_hosts=_hosts(org.get("link_hosts", []), "organisation.link_hosts"),
            languages=_languages(org.get("languages"), language),
        )
        pol = _table(self.raw, "policy")
        policy = Policy(
            version=_text(pol, "policy.version"),
            url=_text(pol, "policy.url"),
            text=_text(pol, "policy.text").strip(),
        )
        channels = {cid: self.channel(cid, body) for cid, body in self.entries("channels")}
        purposes = {
            pid: self.purpose(pid, body, tuple(channels)) for pid, body in self.entries("purposes")
        }
        topics: dict[str, str] = {}
        for tid, label in _table(self.raw, "topics").items():
            _check_id(tid, f"topics.{tid}")
            if not isinstance(label, str) or not label.strip():
                raise PlaybookError(f"topics.{tid}: must be a non-empty label")
            topics[tid] = label
        if not topics:
            raise PlaybookError("topics: at least one interest topic is needed")
        limits = self.raw.get("limits", {})
        if not isinstance(limits, dict):
            raise PlaybookError("limits: must be a table")
        max_per_week = limits.get("max_per_week", 21)
        if (
            not isinstance(max_per_week, int)
            or isinstance(max_per_week, bool)
            or not (1 <= max_per_week <= 1000)
        ):
            raise PlaybookError("limits.max_per_week: must be a whole number from 1 to 1000")
        unknown = set(self.raw) - {
            "organisation",
            "policy",
            "channels",
            "purposes",
            "topics",
            "limits",
            "events",
            "stages",
            "circles",
            "plays",
            "survey",
            "reports",
            "feedback",
            "megaphone",
            "audit",
            "translations",
        }
        if unknown:
            raise PlaybookError(f"{sorted(unknown)[0]}: unknown section")
        events = {eid: self.event(eid, body) for eid, body in self.entries("events")}
        pairs = {(c, p) for p, purpose in purposes.items() for c in purpose.channels}
        ctx = {"events": set(events), "pairs": pairs, "topics": set(topics)}
        stages = tuple(self.stage(i, body, ctx) for i, body in enumerate(self.array("stages")))
        circles = self.circles()
        known = {
            "stages": {s.id for s in stages},
            "circles": {c.id for c in circles},
            "channels": set(channels),
        }
        plays = {
            pid: self.play(pid, body, ctx, known, pairs) for pid, body in self.entries("plays")
        }
        survey = self.survey(set(events))
        # Every language's playbook, the default's among them, shares this one mapping.
        translated: dict[str, Playbook] = {}
        default = Playbook(
            organisation,
            policy,
            channels,
            purposes,
            topics,
            max_per_week,
            events,
            stages,
            circles,
            plays,
            survey,
            self.reports(),
            self.feedback(),
            self.megaphone(set(events)),
            audit=self.audit(),
            translated=translated,
        )
        translated[language] = default
        body = self.raw.get("translations", {})
        if not isinstance(body, dict):
            raise PlaybookError(
                "translations: must be a table of languages, like [translations.de]"
            )
        for code in body:
            if code == language:
                raise PlaybookError(
                    f"translations.{code}: the {code!r} texts are the ones written above; "
                    "translations are for the other organisation.languages"
                )
            if code not in organisation.site_languages:
                raise PlaybookError(
                    f"translations.{code}: {code!r} is not in organisation.languages"
                )
        versions = {policy.version: language}
        for code in organisation.site_languages[1:]:
            if code not in body:
                raise PlaybookError(
                    f"translations.{code}: missing; organisation.languages lists {code!r}, so "
                    f"each text needs its translation under [translations.{code}]"
                )
            found = _Translation(code, body[code], default).playbook()
            other = versions.setdefault(found.policy.version, code)
            if other != code:
                raise PlaybookError(
                    f"translations.{code}.policy.version: {found.policy.version!r} is the "
                    f"version of the {other!r} policy; each language's policy has its own"
                )
            translated[code] = found
        return default

    def reports(self) -> Reports:
        body = self.raw.get("reports", {})
        if not isinstance(body, dict):
            raise PlaybookError("reports: must be a table")
        _only(body, "reports", {"loyal_from", "influential_from"})
        bars = {}
        for key, default in (("loyal_from", 5.0), ("influential_from", 8.0)):
            value = body.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise PlaybookError(f"reports.{key}: must be a number, 0 or more")
            bars[key] = float(value)
        return Reports(**bars)

    def megaphone(self, events: set[str]) -> MegaphoneRules:
        """[megaphone]: the event a join through an invite records (an event type of the
        playbook), the joins a day per inviter that are scored (1 to 1000), and what a
        second-degree join weighs against a first (0 to 1)."""
        body = self.raw.get("megaphone", {})
        if not isinstance(body, dict):
            raise PlaybookError("megaphone: must be a table")
        _only(body, "megaphone", {"event", "daily_limit", "second_degree"})
        rules = MegaphoneRules()
        event = body.get("event", rules.event if rules.event in events else None)
        if event is not None and event not in events:
            raise PlaybookError("megaphone.event: must name an event type")
        limit = body.get("daily_limit", rules.daily_limit)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise PlaybookError("megaphone.daily_limit: must be a whole number from 1 to 1000")
        weight = body.get("second_degree", rules.second_degree)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
            raise PlaybookError("megaphone.second_degree: must be a number from 0 to 1")
        return MegaphoneRules(event or "", limit, float(weight))

    def audit(self) -> AuditRules:
        """[audit]: the days an entry of the audit trail is kept, 30 to 3650 (shorter than
        a month leaves too little to answer a question about a read with)."""
        body = self.raw.get("audit", {})
        if not isinstance(body, dict):
            raise PlaybookError("audit: must be a table")
        _only(body, "audit", {"keep_days"})
        days = body.get("keep_days", AuditRules().keep_days)
        if not isinstance(days, int) or isinstance(days, bool) or not 30 <= days <= 3650:
            raise PlaybookError("audit.keep_days: must be a whole number of days from 30 to 3650")
        return AuditRules(days)

    def feedback(self) -> Feedback:
        """[feedback]: the run of transient bounces that makes an address undeliverable
        (1 to 100), and the keywords a text back stops or restarts texts with (words
        without spaces, case-insensitive, never both)."""
        body = self.raw.get("feedback", {})
        if not isinstance(body, dict):
            raise PlaybookError("feedback: must be a table")
        _only(body, "feedback", {"soft_bounces", "sms_opt_out", "sms_opt_in"})
        run = body.get("soft_bounces", 3)
        if not isinstance(run, int) or isinstance(run, bool) or not 1 <= run <= 100:
            raise PlaybookError("feedback.soft_bounces: must be a whole number from 1 to 100")
        words: dict[str, tuple[str, ...]] = {}
        for key, default in (("sms_opt_out", SMS_OPT_OUT), ("sms_opt_in", SMS_OPT_IN)):
            given = body.get(key, list(default))
            if not isinstance(given, list) or not given:
                raise PlaybookError(f"feedback.{key}: must be a non-empty list of keywords")
            for word in given:
                if not isinstance(word, str) or not word.strip() or len(word.split()) != 1:
                    raise PlaybookError(f"feedback.{key}: {word!r} must be one word")
            words[key] = tuple(dict.fromkeys(w.strip().casefold() for w in given))
        both = set(words["sms_opt_out"]) & set(words["sms_opt_in"])
        if both:
            raise PlaybookError(f"feedback: {sorted(both)[0]!r} cannot both stop and restart texts")
        return Feedback(run, words["sms_opt_out"], words["sms_opt_in"])

    def survey(self, events: set[str]) -> Survey | None:
        body = self.raw.get("survey")
        if body is None:
            return None
        if not isinstance(body, dict):
            raise PlaybookError("survey: must be a table")
        _only(
            body,
            "survey",
            {"event", "promoter_event", "promoter_from", "found_us", "score_every_days"},
        )
        for key in ("event", "promoter_event"):
            if body.get(key) not in events:
                raise PlaybookError(f"survey.{key}: must name an event type")
        floor = body.get("promoter_from", 9)
        if not isinstance(floor, int) or isinstance(floor, bool) or not 0 <= floor <= 10:
            raise PlaybookError("survey.promoter_from: must be a whole number from 0 to 10")
        every = body.get("score_every_days", 90)
        if not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 3650:
            raise PlaybookError(
                "survey.score_every_days: must be a whole number of days, 1 to 3650"
            )
        found = body.get("found_us")
        if not isinstance(found, dict) or not found:
            raise PlaybookError("survey.found_us: must be a table of answers")
        for key, label in found.items():
            _check_id(key, f"survey.found_us.{key}")
            if not isinstance(label, str) or not label.strip():
                raise PlaybookError(f"survey.found_us.{key}: must be a non-empty label")
        return Survey(body["event"], body["promoter_event"], floor, dict(found), every)

    def array(self, section: str) -> list[dict[str, Any]]:
        items = self.raw.get(section)
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise PlaybookError(f"{section}: must be a list of [[{section}]] tables, in order")
        return items

    def event(self, eid: str, body: dict[str, Any]) -> EventType:
        where = f"events.{eid}"
        _only(body, where, {"label", "half_life_days", *SCORES})
        weights = {}
        for score in SCORES:
            weight = body.get(score, 0)
            if not isinstance(weight, int | float) or isinstance(weight, bool) or weight < 0:
                raise PlaybookError(f"{where}.{score}: must be a number, 0 or more")
            weights[score] = float(weight)
        half_life = body.get("half_life_days")
        if (
            not isinstance(half_life, int | float)
            or isinstance(half_life, bool)
            or not (0.5 <= half_life <= 3650)
        ):
            raise PlaybookError(f"{where}.half_life_days: must be a number of days, 0.5 to 3650")
        return EventType(eid, _text(body, f"{where}.label"), weights, float(half_life))

    def stage(self, index: int, body: dict[str, Any], ctx: dict[str, Any]) -> Stage:
        where = f"stages[{index}]"
        _only(body, where, {"id", "label", "says", "rule"})
        sid = _text(body, f"{where}.id")
        _check_id(sid, f"{where}.id")
        rule = parse_rule(body.get("rule", {}), f"{where}.rule", **ctx)
        return Stage(sid, _text(body, f"{where}.label"), _text(body, f"{where}.says"), rule)

    def circles(self) -> tuple[Circle, ...]:
        out: list[Circle] = []
        for index, body in enumerate(self.array("circles")):
            where = f"circles[{index}]"
            _only(body, where, {"id", "label", "says", "min_engagement"})
            cid = _text(body, f"{where}.id")
            _check_id(cid, f"{where}.id")
            floor = body.get("min_engagement")
            if not isinstance(floor, int | float) or isinstance(floor, bool) or floor < 0:
                raise PlaybookError(f"{where}.min_engagement: must be a number, 0 or more")
            if out and floor <= out[-1].min_engagement:
                raise PlaybookError(f"{where}.min_engagement: must be above the circle before")
            out.append(
                Circle(
                    cid, _text(body, f"{where}.label"), _text(body, f"{where}.says"), float(floor)
                )
            )
        if out[0].min_engagement != 0:
            raise PlaybookError("circles[0].min_engagement: the first circle must start at 0")
        return tuple(out)

    def play(
        self,
        pid: str,
        body: dict[str, Any],
        ctx: dict[str, Any],
        known: dict[str, set[str]],
        pairs: set[tuple[str, str]],
    ) -> Play:
        where = f"plays.{pid}"
        _only(
            body,
            where,
            {
                "kind",
                "says",
                "stages",
                "circles",
                "channel",
                "purpose",
                "interests",
                "cooldown_days",
                "priority",
                "when",
                "asks",
                "ignored_after_days",
                "delivery",
            },
        )
        kind = body.get("kind", "message")
        if kind not in ("message", "ask"):
            raise PlaybookError(f"{where}.kind: must be message or ask")
        lists = {}
        for key in ("stages", "circles", "interests"):
            value = body.get(key, [])
            pool = known.get(key) if key != "interests" else ctx["topics"]
            if not isinstance(value, list) or any(
                not isinstance(v, str) or v not in (pool or ()) for v in value
            ):
                raise PlaybookError(f"{where}.{key}: must list known {key}")
            lists[key] = tuple(value)
        if not lists["stages"]:
            raise PlaybookError(f"{where}.stages: name at least one stage")
        channel = _text(body, f"{where}.channel")
        purpose = body.get("purpose")
        if channel == SITE:
            if purpose is not None:
                raise PlaybookError(f"{where}.purpose: a site play needs no purpose")
        elif channel not in known["channels"]:
            raise PlaybookError(f'{where}.channel: unknown channel (or use "site")')
        elif not isinstance(purpose, str) or (channel, purpose) not in pairs:
            raise PlaybookError(f"{where}.purpose: {channel} × {purpose} is not offered")
        asks = None
        if kind == "ask":
            raw = body.get("asks")
            if (
                not isinstance(raw, dict)
                or set(raw) != {"channel", "purpose"}
                or not all(isinstance(v, str) for v in raw.values())
                or (raw["channel"], raw["purpose"]) not in pairs
            ):
                raise PlaybookError(f"{where}.asks: an ask names an offered channel and purpose")
            asks = (raw["channel"], raw["purpose"])
        elif "asks" in body:
            raise PlaybookError(f"{where}.asks: only a play of kind ask asks for permission")
        delivery = body.get("delivery", DELIVERED_BY[0])
        if delivery not in DELIVERED_BY:
            raise PlaybookError(f"{where}.delivery: must be {' or '.join(DELIVERED_BY)}")
        if channel == SITE and delivery != DELIVERED_BY[0]:
            raise PlaybookError(f"{where}.delivery: a site play is shown, never delivered")
        numbers = {}
        for key, default, top in (
            ("cooldown_days", 14, 3650),
            ("priority", 50, 1000),
            ("ignored_after_days", 14, 365),
        ):
            value = body.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
                raise PlaybookError(f"{where}.{key}: must be a whole number from 0 to {top}")
            numbers[key] = value
        return Play(
            id=pid,
            kind=kind,
            says=_text(body, f"{where}.says"),
            stages=lists["stages"],
            circles=lists["circles"],
            channel=channel,
            purpose=purpose,
            interests=lists["interests"],
            cooldown_days=numbers["cooldown_days"],
            priority=numbers["priority"],
            when=parse_rule(body.get("when", {}), f"{where}.when", **ctx),
            asks=asks,
            ignored_after_days=numbers["ignored_after_days"],
            delivery=delivery,
        )

    def entries(self, section: str) -> list[tuple[str, dict[str, Any]]]:
        table = _table(self.raw, section)
        if not table:
            raise PlaybookError(f"{section}: at least one entry is needed")
        out = []
        for key, body in table.items():
            _check_id(key, f"{section}.{key}")
            if not isinstance(body, dict):
                raise PlaybookError(f"{section}.{key}: must be a table")
            out.append((key, body))
        return out

    def channel(self, cid: str, body: dict[str, Any]) -> Channel:
        where = f"channels.{cid}"
        _only(
            body,
            where,
            {
                "label",
                "kind",
                "quiet_hours",
                "handle_pattern",
                "max_per_week",
                "countries",
                "texts",
            },
        )
        kind = _text(body, f"{where}.kind")
        if kind not in CHANNEL_KINDS:
            raise PlaybookError(f"{where}.kind: must be one of {', '.join(CHANNEL_KINDS)}")
        quiet = body.get("quiet_hours")
        pattern = body.get("handle_pattern")
        if pattern is not None:
            if kind != "social" or not isinstance(pattern, str):
                raise PlaybookError(f"{where}.handle_pattern: only a social channel has one")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise PlaybookError(f"{where}.handle_pattern: not a valid pattern ({exc})") from exc
        texts = body.get("texts", False)
        if not isinstance(texts, bool) or (texts and kind != "phone"):
            raise PlaybookError(f"{where}.texts: only a phone channel texts (true or false)")
        return Channel(
            id=cid,
            label=_text(body, f"{where}.label"),
            kind=kind,
            quiet_hours=None if quiet is None else parse_quiet_hours(quiet, f"{where}.quiet_hours"),
            handle_pattern=pattern,
            max_per_week=_optional_days(body, f"{where}.max_per_week", top=1000),
            countries=_countries(body.get("countries"), kind, f"{where}.countries"),
            texts=texts,
        )

    def purpose(self, pid: str, body: dict[str, Any], channels: tuple[str, ...]) -> Purpose:
        where = f"purposes.{pid}"
        _only(
            body,
            where,
            {
                "label",
                "description",
                "channels",
                "gpc_opt_out",
                "refresh_after_days",
                "lapse_after_days",
            },
        )
        allowed = body.get("channels", list(channels))
        if not isinstance(allowed, list) or not allowed:
            raise PlaybookError(f"{where}.channels: must be a non-empty list of channel ids")
        for cid in allowed:
            if cid not in channels:
                raise PlaybookError(f"{where}.channels: unknown channel {cid!r}")
        gpc = body.get("gpc_opt_out", False)
        if not isinstance(gpc, bool):
            raise PlaybookError(f"{where}.gpc_opt_out: must be true or false")
        return Purpose(
            id=pid,
            label=_text(body, f"{where}.label"),
            description=_text(body, f"{where}.description"),
            channels=tuple(c for c in channels if c in allowed),
            gpc_opt_out=gpc,
            refresh_after_days=_optional_days(body, f"{where}.refresh_after_days"),
            lapse_after_days=_optional_days(body, f"{where}.lapse_after_days"),
        )


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise PlaybookError(f"{key}: missing section [{key}]")
    return value


def _text(table: dict[str, Any], where: str, default: str | None = None) -> str:
    value = table.get(where.rsplit(".", 1)[-1], default)
    if not isinstance(value, str) or not value.strip():
        raise PlaybookError(f"{where}: must be a non-empty string")
    return value


def _optional_days(body: dict[str, Any], where: str, top: int = 3650) -> int | None:
    value = body.get(where.rsplit(".", 1)[-1])
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
        raise PlaybookError(f"{where}: must be a whole number from 1 to {top}")
    return value


def _check_id(key: str, where: str) -> None:
    if not _ID.fullmatch(key):
        raise PlaybookError(f"{where}: ids are lower-case letters, digits and dashes")


def _languages(value: object, default: str) -> tuple[str, ...]:
    """The site's languages as language codes (`de`, `fr`), the default one first; absent,
    the default alone."""
    where = "organisation.languages"
    if value is None:
        return (default,)
    if not isinstance(value, list) or not value:
        raise PlaybookError(f'{where}: must be a list of language codes such as ["en", "de"]')
    for code in value:
        if not isinstance(code, str) or not LANGUAGE.fullmatch(code):
            raise PlaybookError(
                f"{where}: {str(code)[:20]!r} is not a lower-case language code such as de"
            )
    if value[0] != default:
        raise PlaybookError(
            f"{where}: must start with organisation.language ({default!r}), the site's default"
        )
    return tuple(dict.fromkeys(value))


def _hosts(value: object, where: str) -> tuple[str, ...]:
    """Host names links may lead to: each written as a lower-case name alone (no scheme,
    port, path or wildcard), so what is allowed is exactly what is written."""
    if not isinstance(value, list):
        raise PlaybookError(f"{where}: must be a list of host names")
    for host in value:
        if not isinstance(host, str) or not HOST.fullmatch(host):
            raise PlaybookError(
                f"{where}: {str(host)[:80]!r} is not a lower-case host name such as "
                "shop.example.com (no scheme, port, path or wildcard)"
            )
    return tuple(dict.fromkeys(value))


def _only(body: dict[str, Any], where: str, allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise PlaybookError(f"{where}.{extra[0]}: unknown key")


def _countries(value: object, kind: str, where: str) -> tuple[str, ...]:
    """A phone channel's countries: required, so no channel texts the whole world by
    default; each an ISO 3166-1 alpha-2 code that has phone numbers."""
    # Imported here: the playbook reader is otherwise free of the phone module.
    from befriend.core.phones import REGIONS

    if kind != "phone":
        if value is not None:
            raise PlaybookError(f"{where}: only a phone channel has countries")
        return ()
    if not isinstance(value, list) or not value:
        raise PlaybookError(f'{where}: a phone channel lists its countries, like ["GB", "IE"]')
    for code in value:
        if not isinstance(code, str) or code not in REGIONS:
            raise PlaybookError(
                f"{where}: {code!r} is not an ISO 3166-1 alpha-2 country code with phone numbers"
            )
    if len(set(value)) != len(value):
        raise PlaybookError(f"{where}: a country is listed twice")
    return tuple(value)


# What a translation may give where the default language's text is the fallback; every
# other text is required. The organisation's name and address may well be the same in
# every language, the policy's address too (the site's links stay in the page's language
# anyway), and event labels are seen only by the organisation's people, in its reports.
OPTIONAL = frozenset({"organisation.name", "organisation.address", "policy.url", "events.label"})


class _Translation:
    """`[translations.<code>]`: the playbook's texts in one more language, in a tree that
    mirrors the tables they translate, entries by id (stages and circles too). Typos are
    refused as unknown keys, and a text left out is named with its full key."""

    def __init__(self, code: str, body: object, default: Playbook) -> None:
        self.where = f"translations.{code}"
        self.code = code
        self.default = default
        if not isinstance(body, dict):
            raise PlaybookError(f"{self.where}: must be a table")
        self.body: dict[str, Any] = body

    def playbook(self) -> Playbook:
        pb = self.default
        sections = {"organisation", "policy", "channels", "purposes", "topics", "events"}
        sections |= {"stages", "circles", "plays"} | ({"survey"} if pb.survey else set())
        _only(self.body, self.where, sections)
        org = self.table(self.body, self.where, "organisation")
        _only(org, f"{self.where}.organisation", {"name", "address"})
        organisation = replace(
            pb.organisation,
            name=self.text(org, "organisation", "name", pb.organisation.name),
            address=self.text(org, "organisation", "address", pb.organisation.address),
        )
        pol = self.table(self.body, self.where, "policy")
        _only(pol, f"{self.where}.policy", {"version", "url", "text"})
        policy = Policy(
            version=self.text(pol, "policy", "version"),
            url=self.text(pol, "policy", "url", pb.policy.url),
            text=self.text(pol, "policy", "text").strip(),
        )
        channels = self.entries("channels", list(pb.channels), ("label",))
        purposes = self.entries("purposes", list(pb.purposes), ("label", "description"))
        topics = self.labels(self.body, "topics", list(pb.topics))
        events = self.entries("events", list(pb.events), ("label",))
        stages = self.entries("stages", [s.id for s in pb.stages], ("label", "says"))
        circles = self.entries("circles", [c.id for c in pb.circles], ("label", "says"))
        plays = self.entries("plays", list(pb.plays), ("says",))
        survey = pb.survey
        if survey is not None:
            body = self.table(self.body, self.where, "survey")
            _only(body, f"{self.where}.survey", {"found_us"})
            found_us = self.labels(body, "survey.found_us", list(survey.found_us))
            survey = replace(survey, found_us=found_us)
        return replace(
            pb,
            organisation=organisation,
            policy=policy,
            channels={k: replace(c, label=channels[k]["label"]) for k, c in pb.channels.items()},
            purposes={
                k: replace(p, label=purposes[k]["label"], description=purposes[k]["description"])
                for k, p in pb.purposes.items()
            },
            topics=topics,
            events={k: replace(e, label=events[k]["label"]) for k, e in pb.events.items()},
            stages=tuple(
                replace(s, label=stages[s.id]["label"], says=stages[s.id]["says"])
                for s in pb.stages
            ),
            circles=tuple(
                replace(c, label=circles[c.id]["label"], says=circles[c.id]["says"])
                for c in pb.circles
            ),
            plays={k: replace(p, says=plays[k]["says"]) for k, p in pb.plays.items()},
            survey=survey,
            texts_language=self.code,
        )

    def table(self, body: dict[str, Any], where: str, key: str) -> dict[str, Any]:
        """The table `key` of `body`; absent, an empty one, so the first text it should
        hold is the one named missing."""
        value = body.get(key, {})
        if not isinstance(value, dict):
            raise PlaybookError(f"{where}.{key}: must be a table")
        return value

    def text(self, body: dict[str, Any], path: str, key: str, fallback: str | None = None) -> str:
        """The translated text at `<path>.<key>`; `fallback` (the default language's) when
        it is absent and may be. `path` is the dotted path without ids, as in OPTIONAL."""
        where = f"{self.where}.{path}.{key}"
        value = body.get(key)
        if value is None:
            section, _, _ = path.partition(".")
            if fallback is not None and f"{section}.{key}" in OPTIONAL:
                return fallback
            raise PlaybookError(f"{where}: missing")
        if not isinstance(value, str) or not value.strip():
            raise PlaybookError(f"{where}: must be a non-empty string")
        return value

    def entries(
        self, section: str, ids: list[str], keys: tuple[str, ...]
    ) -> dict[str, dict[str, str]]:
        """The texts `keys` of each entry of `section`, by the entry's id."""
        body = self.table(self.body, self.where, section)
        extra = [key for key in body if key not in ids]
        if extra:
            raise PlaybookError(f"{self.where}.{section}.{extra[0]}: no such entry in {section}")
        out: dict[str, dict[str, str]] = {}
        for eid in ids:
            original = {key: getattr(self.entry(section, eid), key) for key in keys}
            entry = self.table(body, f"{self.where}.{section}", eid)
            _only(entry, f"{self.where}.{section}.{eid}", set(keys))
            out[eid] = {
                key: self.text(entry, f"{section}.{eid}", key, original[key]) for key in keys
            }
        return out

    def entry(self, section: str, eid: str) -> Any:
        pb = self.default
        if section == "stages":
            return next(s for s in pb.stages if s.id == eid)
        if section == "circles":
            return next(c for c in pb.circles if c.id == eid)
        found: Mapping[str, Any] = getattr(pb, section)
        return found[eid]

    def labels(self, parent: dict[str, Any], path: str, ids: list[str]) -> dict[str, str]:
        """A table of id = "label" (topics, survey answers) at `path`, every id given;
        `parent` is the table holding it."""
        above, _, key = path.rpartition(".")
        table = self.table(parent, ".".join(filter(None, (self.where, above))), key)
        extra = [k for k in table if k not in ids]
        if extra:
            raise PlaybookError(f"{self.where}.{path}.{extra[0]}: no such entry in {path}")
        return {i: self.text(table, path, i) for i in ids}
