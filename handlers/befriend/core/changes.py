"""Every change a person can make, decided as data: the new state and its ledger entries.

Nothing here writes anything. The store writes a `Outcome` in one transaction, conditional
on the sequence number the change was computed from, so a concurrent change is retried on
fresh state instead of being lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from msgspec import Struct

from befriend.core.commands import ConfirmChoice, PermissionChange, SettingsPatch, Signup
from befriend.core.contact_points import Phone, mask_email
from befriend.core.errors import FieldError, InvalidInput
from befriend.core.freshness import due, lapsed
from befriend.core.frozen import replace
from befriend.core.ledger import Change, Entry, chain
from befriend.core.person import (
    Evidence,
    Origin,
    Pair,
    Permission,
    Person,
    Preferences,
    SignupRequest,
    State,
    iso,
)
from befriend.core.phones import given_for, hold_asks, is_phone, reachable
from befriend.core.playbook import Playbook
from befriend.core.stages import Transition, restage
from befriend.core.words import N_

PENDING_DAYS = 7
PERSON_SOURCES = ("form", "confirm", "api")  # changes the person made themselves


class Context(Struct, frozen=True):
    """Who asks and how: the facts every change records as evidence."""

    now: datetime
    source: str
    evidence: Evidence | None
    gpc: bool = False
    # Makes the keyed hash of a contact point (kind, its text) with the deployment's secret
    # (credentials/pseudonyms.py `contact`), so a grant's entry can name the email address it
    # was given for while the core never holds the secret. None: such grants name none.
    contact_key: Callable[[str, str], str] | None = None


class Outcome(Struct, frozen=True):
    """A decided change: the state it was computed from, the new state, the entries to add."""

    before: Person
    person: Person
    entries: tuple[Entry, ...]
    transitions: tuple[Transition, ...] = ()

    @property
    def changed(self) -> bool:
        return self.person != self.before


def settle(outcome: Outcome, playbook: Playbook, now: datetime, cause: str) -> Outcome:
    """Bring stage and circle up to date after a change, noting a move between stages."""
    person, moved = restage(outcome.person, playbook, now, cause)
    if person is outcome.person:
        return outcome
    return replace(
        outcome, person=person, transitions=(*outcome.transitions, *filter(None, [moved]))
    )


def start_signup(
    person_id: str, form: Signup, ctx: Context, origin: Origin | None = None
) -> Person:
    """A pending person: nothing is granted until the address is confirmed."""
    return Person(
        id=person_id,
        email=form.email,
        name=form.name,
        status="pending",
        created_at=ctx.now,
        preferences=Preferences(time_zone=form.time_zone),
        request=_request(form, ctx, origin),
        expires_at=ctx.now + timedelta(days=PENDING_DAYS),
    )


def renew_signup(
    person: Person, form: Signup, ctx: Context, origin: Origin | None = None
) -> Person:
    """A second sign-up before confirming replaces the first request, name included (the
    confirmation page shows the name of the request it confirms), and restarts its clock."""
    return replace(
        person,
        name=form.name,
        preferences=replace(person.preferences, time_zone=form.time_zone),
        request=_request(form, ctx, origin),
        expires_at=ctx.now + timedelta(days=PENDING_DAYS),
    )


def _request(form: Signup, ctx: Context, origin: Origin | None) -> SignupRequest:
    if ctx.evidence is None:
        raise ValueError("a sign-up is always recorded with its evidence")
    return SignupRequest(
        at=ctx.now,
        permissions=form.permissions,
        interests=form.interests,
        policy_version=form.policy_version,
        source=ctx.source,
        evidence=ctx.evidence,
        gpc=ctx.gpc,
        phone=None
        if form.phone is None
        else Phone(form.phone, ctx.now, key=form.phone_key, shown=form.phone_shown),
        origin=origin or Origin(),
    )


def confirm(
    person: Person, ctx: Context, playbook: Playbook, choice: ConfirmChoice | None = None
) -> Outcome:
    """Grant what was asked for at sign-up, or the part of it the person kept ticked on the
    confirmation page, and keep the name only if they said so. Confirming twice changes
    nothing."""
    if person.status != "pending" or person.request is None:
        return Outcome(person, person, ())
    req = person.request
    choice = choice or ConfirmChoice()
    gpc = req.gpc or ctx.gpc
    kept = req.permissions if choice.permissions is None else choice.permissions
    extra = [f"{c}:{p}" for c, p in kept if (c, p) not in req.permissions]
    if extra:
        raise InvalidInput(
            [
                FieldError(
                    "permissions",
                    N_("%(pairs)s was not asked for at sign-up"),
                    {"pairs": ", ".join(extra)},
                )
            ]
        )
    asked = [p for p in req.permissions if playbook.offers(*p) and p in kept]
    name = person.name if choice.keep_name else ""
    refused = [p for p in asked if gpc and playbook.purposes[p[1]].gpc_opt_out]
    granted = [p for p in asked if p not in refused]
    # Texts and calls wait for the number given at sign-up to be verified by its code.
    points = replace(
        person.contact_points,
        phone=req.phone or person.contact_points.phone,
        phone_asked=tuple(p for p in granted if is_phone(p, playbook)),
    )
    # Post waits for a postal address: granted when one is given (core/postal.py).
    if points.postal is None:
        points = replace(points, postal_asked=tuple(p for p in granted if _postal(p, playbook)))
        granted = [p for p in granted if not _postal(p, playbook)]
    granted = [p for p in granted if not is_phone(p, playbook) or reachable(person, p[0], playbook)]
    interests = frozenset(t for t in req.interests if t in playbook.topics)

    signup = chain(
        person.id,
        0,
        "",
        req.at,
        "signup",
        req.source,
        [
            Change("email", None, person.email),
            Change("name", None, name),
            Change("time_zone", None, person.preferences.time_zone),
            Change("requested", None, [f"{c}:{p}" for c, p in req.permissions]),
            # Where the relationship began, with the sign-up's evidence (core/megaphone.py).
            *([Change("origin", None, req.origin.as_json())] if req.origin != Origin() else []),
        ],
        req.policy_version,
        req.evidence,
        req.gpc,
    )
    perms = {
        pair: Permission("granted", ctx.now, "confirm", req.policy_version) for pair in granted
    }
    changes = [Change(_perm(p), "never", "granted") for p in granted]
    changes += _email_given_for(person, changes, ctx, playbook)
    if interests:
        changes.append(Change("interests", [], sorted(interests)))
    # The language they confirmed in (else the sign-up's) becomes theirs: mails, texts
    # and pages speak it from now on, until they choose another.
    language = (ctx.evidence and ctx.evidence.language) or req.evidence.language
    if language and language != person.preferences.language:
        changes.append(Change("language", person.preferences.language or None, language))
    entries = [signup, _next(signup, person.id, ctx, "confirm", changes, req.policy_version, gpc)]
    if refused:
        entries.append(
            _next(
                entries[-1],
                person.id,
                replace(ctx, source="gpc"),
                "gpc",
                [Change(_perm(p), "never", "never") for p in refused],
                req.policy_version,
                True,
            )
        )
    confirmed = replace(
        person,
        name=name,
        status="active",
        confirmed_at=ctx.now,
        confirmed_request=req.fingerprint(),
        permissions=perms,
        interests=interests,
        contact_points=points,
        request=None,
        expires_at=None,
        seq=entries[-1].seq,
        head=entries[-1].hash,
        megaphone=replace(person.megaphone, origin=req.origin),
        preferences=replace(person.preferences, language=language or person.preferences.language),
    )
    return Outcome(person, confirmed, tuple(entries))


def change_permissions(
    person: Person, wanted: Iterable[PermissionChange], ctx: Context, playbook: Playbook
) -> Outcome:
    """Grant and withdraw in one step. A grant of a GPC-refused purpose is refused and noted.
    Granting again a permission that is due for a refresh renews it."""
    targets: dict[Pair, State] = {c.pair: ("granted" if c.granted else "withdrawn") for c in wanted}
    renew = frozenset(pair for pair, _ in due(person, playbook, ctx.now))
    # A grant on a phone channel waits for a verified number (core/phones.py).
    held, targets = hold_asks(person, targets, playbook)
    outcome = _set_states(held, targets, ctx, playbook, action="permissions", renew=renew)
    return replace(outcome, before=person)


def lapse(person: Person, playbook: Playbook, now: datetime) -> Outcome:
    """Withdraw every permission whose refresh went unanswered, with source `expiry`."""
    ctx = Context(now, "expiry", None)
    return withdraw(person, lapsed(person, playbook, now), ctx, playbook, action="lapse")


def withdraw(
    person: Person, pairs: Iterable[Pair], ctx: Context, playbook: Playbook, action: str
) -> Outcome:
    """Withdraw the given permissions (used for lapses, with source `expiry`)."""
    targets: dict[Pair, State] = dict.fromkeys(pairs, "withdrawn")
    return _set_states(person, targets, ctx, playbook, action=action)


def withdraw_all(person: Person, ctx: Context, playbook: Playbook) -> Outcome:
    """Every granted permission becomes withdrawn in one entry, and none still waiting for
    a number or an address is granted when one comes: a no to everything is a no to them."""
    targets: dict[Pair, State] = {
        p: "withdrawn" for p, perm in person.permissions.items() if perm.state == "granted"
    }
    held = _drop_waiting(person, lambda _pair: True)
    outcome = _set_states(held, targets, ctx, playbook, action="withdraw-all")
    return replace(outcome, before=person)


def _drop_waiting(person: Person, hit: Callable[[Pair], bool]) -> Person:
    """The person without the permissions of `hit` that wait for a verified number or a
    postal address (nothing was granted, so no entry records it)."""
    points = person.contact_points
    phone = tuple(p for p in points.phone_asked if not hit(p))
    postal = tuple(p for p in points.postal_asked if not hit(p))
    if (phone, postal) == (points.phone_asked, points.postal_asked):
        return person
    return replace(person, contact_points=replace(points, phone_asked=phone, postal_asked=postal))


def unsubscribe(
    person: Person, channel: str, purpose: str | None, ctx: Context, playbook: Playbook
) -> Outcome:
    """One-click withdrawal of one channel, for one purpose or all of them."""

    def hit(pair: Pair) -> bool:
        return pair[0] == channel and (purpose is None or pair[1] == purpose)

    if person.status == "pending" and person.request is not None:
        # Not confirmed yet: drop the matching requests so confirming cannot grant them.
        kept = tuple(p for p in person.request.permissions if not hit(p))
        return Outcome(
            person, replace(person, request=replace(person.request, permissions=kept)), ()
        )
    targets: dict[Pair, State] = {
        p: "withdrawn" for p in person.permissions if hit(p) and person.state(p) == "granted"
    }
    held = _drop_waiting(person, hit)
    outcome = _set_states(held, targets, ctx, playbook, action="unsubscribe")
    return replace(outcome, before=person)


def set_interests(
    person: Person, topics: Iterable[str], ctx: Context, playbook: Playbook
) -> Outcome:
    new = frozenset(topics)
    if new == person.interests:
        return Outcome(person, person, ())
    change = Change("interests", sorted(person.interests), sorted(new))
    return record_entry(
        replace(person, interests=new), person, ctx, playbook, "interests", [change]
    )


def update_settings(
    person: Person, patch: SettingsPatch, ctx: Context, playbook: Playbook
) -> Outcome:
    prefs = person.preferences
    changes: list[Change] = []
    new_prefs = prefs
    if patch.time_zone is not None and patch.time_zone != prefs.time_zone:
        changes.append(Change("time_zone", prefs.time_zone, patch.time_zone))
        new_prefs = replace(new_prefs, time_zone=patch.time_zone)
    if patch.language is not None and patch.language != prefs.language:
        changes.append(Change("language", prefs.language or None, patch.language))
        new_prefs = replace(new_prefs, language=patch.language)
    if patch.quiet_hours is not None:
        merged = _merge(prefs.quiet_hours, patch.quiet_hours)
        for cid in sorted(set(merged) | set(prefs.quiet_hours)):
            old, new = prefs.quiet_hours.get(cid), merged.get(cid)
            if old != new:
                changes.append(
                    Change(f"quiet_hours:{cid}", old and old.as_json(), new and new.as_json())
                )
        new_prefs = replace(new_prefs, quiet_hours=merged)
    if patch.max_per_week is not None:
        caps = _merge(prefs.max_per_week, patch.max_per_week)
        changes += _diff("max_per_week", prefs.max_per_week, caps)
        new_prefs = replace(new_prefs, max_per_week=caps)
    if patch.handles is not None:
        handles = _merge(prefs.handles, patch.handles)
        changes += _diff("handle", prefs.handles, handles)
        new_prefs = replace(new_prefs, handles=handles)
    pause = None if patch.clear_pause else (patch.paused_until or prefs.paused_until)
    if pause != prefs.paused_until:
        changes.append(Change("paused_until", iso(prefs.paused_until), iso(pause)))
        new_prefs = replace(new_prefs, paused_until=pause)
    name = person.name if patch.name is None else patch.name
    if name != person.name:
        changes.append(Change("name", person.name, name))
    if not changes:
        return Outcome(person, person, ())
    updated = replace(person, preferences=new_prefs, name=name)
    return record_entry(updated, person, ctx, playbook, "settings", changes)


def sign_out_everywhere(person: Person, ctx: Context, playbook: Playbook) -> Outcome:
    """Every manage link issued so far stops working: the token generation moves on."""
    gen = person.token_generation + 1
    change = Change("token_generation", person.token_generation, gen)
    return record_entry(
        replace(person, token_generation=gen),
        person,
        ctx,
        playbook,
        "sign-out-everywhere",
        [change],
    )


# --- shared steps ---


def _set_states(
    person: Person,
    targets: dict[Pair, State],
    ctx: Context,
    playbook: Playbook,
    action: str,
    renew: frozenset[Pair] = frozenset(),
) -> Outcome:
    """Move each pair to its target state. Under Global Privacy Control every request that
    touches permissions also refuses a sharing grant and withdraws one given earlier; that
    part is recorded in an entry of its own with source `gpc`."""
    refused: list[Pair] = []
    if ctx.gpc:
        for pair in playbook.grid():
            current = person.state(pair)
            if playbook.purposes[pair[1]].gpc_opt_out and "granted" in (
                targets.get(pair),
                current,
            ):
                refused.append(pair)
                targets[pair] = "withdrawn" if current == "granted" else current
    perms = dict(person.permissions)
    changes: list[Change] = []
    gpc_changes: list[Change] = []
    for pair in playbook.grid():
        if pair not in targets:
            continue
        old, new = person.state(pair), targets[pair]
        renewing = pair in renew and old == new == "granted"
        if pair in refused:
            gpc_changes.append(Change(_perm(pair), old, new))
        elif old == new and not renewing:
            continue
        elif old == "never" and new == "withdrawn":
            continue  # withdrawing what was never given changes nothing
        else:
            changes.append(Change(_perm(pair), old, new))
        if old != new or renewing:
            perms[pair] = Permission(
                new, ctx.now, "gpc" if pair in refused else ctx.source, playbook.policy.version
            )
    phone = person.contact_points.phone
    phone_grants = {_perm(p) for p in targets if is_phone(p, playbook)}
    if phone is not None and any(c.what in phone_grants and c.new == "granted" for c in changes):
        changes.append(given_for(phone))  # the number these permissions were given for
    postal = person.contact_points.postal
    postal_grants = {_perm(p) for p in targets if _postal(p, playbook)}
    if postal is not None and any(c.what in postal_grants and c.new == "granted" for c in changes):
        # Imported here: core/postal.py builds on this module.
        from befriend.core.postal import given_for as postal_given_for

        changes.append(postal_given_for(postal))  # the address they were given for
    changes += _email_given_for(person, changes, ctx, playbook)
    updated = replace(person, permissions=perms)
    newly = {
        p for p, perm in perms.items() if perm.state == "granted" and person.state(p) != "granted"
    }
    if newly and ctx.source in PERSON_SOURCES:
        updated = _asks_answered(updated, newly, playbook, ctx.now)
    outcome = (
        record_entry(updated, person, ctx, playbook, action, changes)
        if changes
        else Outcome(person, updated, ())
    )
    if gpc_changes:
        last = outcome.entries[-1] if outcome.entries else None
        entry = chain(
            person.id,
            last.seq if last else person.seq,
            last.hash if last else person.head,
            ctx.now,
            "gpc",
            "gpc",
            gpc_changes,
            playbook.policy.version,
            ctx.evidence,
            True,
        )
        final = replace(outcome.person, seq=entry.seq, head=entry.hash)
        outcome = Outcome(person, final, (*outcome.entries, entry))
    return outcome


def _asks_answered(person: Person, granted: set[Pair], playbook: Playbook, now: datetime) -> Person:
    """An ask whose permission the person grants while it waits for an answer is accepted."""
    rel = person.relationship
    accepted = dict(rel.accepted)
    for play_id, asked_at in rel.asked.items():
        play = playbook.plays.get(play_id)
        if play is None or play.asks not in granted:
            continue
        answered = accepted.get(play_id)
        if answered is not None and answered >= asked_at:
            continue  # this ask was accepted already; granting again is not a new yes
        if now - asked_at <= timedelta(days=play.ignored_after_days):
            accepted[play_id] = now
    if accepted == rel.accepted:
        return person
    return replace(person, relationship=replace(rel, accepted=accepted))


def record_entry(
    updated: Person,
    before: Person,
    ctx: Context,
    playbook: Playbook,
    action: str,
    changes: list[Change],
) -> Outcome:
    """`updated`, with one ledger entry of `action` recording `changes` after `before`'s."""
    entry = chain(
        before.id,
        before.seq,
        before.head,
        ctx.now,
        action,
        ctx.source,
        changes,
        playbook.policy.version,
        ctx.evidence,
        ctx.gpc,
    )
    if ctx.source in PERSON_SOURCES:
        # The person was here and chose something: that is engagement, and keeps their
        # permissions fresh.
        updated = replace(updated, relationship=replace(updated.relationship, last_seen=ctx.now))
    return Outcome(before, replace(updated, seq=entry.seq, head=entry.hash), (entry,))


def _next(
    after: Entry,
    person_id: str,
    ctx: Context,
    action: str,
    changes: list[Change],
    version: str,
    gpc: bool,
) -> Entry:
    return chain(
        person_id,
        after.seq,
        after.hash,
        ctx.now,
        action,
        ctx.source,
        changes,
        version,
        ctx.evidence,
        gpc,
    )


def _postal(pair: Pair, playbook: Playbook) -> bool:
    # core/postal.py `is_postal`, which builds on this module.
    return playbook.channels[pair[0]].kind == "postal"


def _perm(pair: Pair) -> str:
    return f"permission:{pair[0]}:{pair[1]}"


def _email_given_for(
    person: Person, changes: list[Change], ctx: Context, playbook: Playbook
) -> list[Change]:
    return email_given_for(person.email, changes, ctx.contact_key, playbook)


def email_given_for(
    address: str,
    changes: list[Change],
    contact_key: Callable[[str, str], str] | None,
    playbook: Playbook,
) -> list[Change]:
    """The email address that `changes`' grants on email channels were given for, as a keyed
    hash (comparable with an email change's entry) and masked, as phone grants name their
    number; nothing when no grant is on an email channel or no hash can be made."""
    email = {_perm(p) for p in playbook.grid() if playbook.channels[p[0]].kind == "email"}
    if contact_key is None or not any(c.what in email and c.new == "granted" for c in changes):
        return []
    key = contact_key("email", address)
    return [Change("contact:email:given-for", None, {"key": key, "shown": mask_email(address)})]


def _merge(old: dict[str, Any], patch: Any) -> dict[str, Any]:
    merged = dict(old)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _diff(prefix: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    return [
        Change(f"{prefix}:{k}", old.get(k), new.get(k))
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]
