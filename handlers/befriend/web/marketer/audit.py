"""The audit trail from the API's side: `record`, which every marketer view that gives out
or takes in personal data calls before it answers, and `GET /api/audit` (admin only),
which reads it. Nothing here writes an entry but `record`, and no route changes or
removes one.

An entry is written before the answer leaves: when the table will not take it, the
request is answered `503 audit-unavailable` and nothing is given out (or changed)
unrecorded. A read half-recorded (some of its items written when the table refused the
rest) errs the other way: the trail then names a read that was not answered.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from flask import Response, current_app, request, url_for

from befriend.core.audit import AuditEntry, Who, kept_until, read_since
from befriend.core.errors import Unavailable
from befriend.core.words import N_
from befriend.credentials.keys import ROLES
from befriend.credentials.principal import Principal
from befriend.i18n.catalogs import translations
from befriend.store.audit import Walk
from befriend.store.table import UNREACHABLE, is_busy
from befriend.web.answers import json_answer
from befriend.web.inputs import client_address
from befriend.web.language import in_language, page_language
from befriend.web.marketer.blueprint import bp, principal, requires
from befriend.web.paging import invalid_cursor, page_limit, read_cursor, write_cursor
from befriend.web.problems import BUSY_RETRY_AFTER, Problem, bad_parameter
from befriend.web.services import services

log = logging.getLogger("befriend")
CURSOR_SALT = "befriend.audit-cursor.v1"
WINDOW = timedelta(days=30)  # what `since` is when not given
# A refusal of the same principal and route is recorded at most this often per container.
REFUSALS_EVERY = timedelta(minutes=1)
REFUSALS_KEPT = 10_000
MAX_NAME = 200


def unrecorded() -> Problem:
    """503: the entry could not be written, so nothing was given out (a new exception each
    time: one raised again and again would carry every earlier traceback with it)."""
    return Problem(
        503,
        "audit-unavailable",
        N_("This could not be recorded, so it was not done"),
        N_(
            "Every read of people's data is recorded in the audit trail before it is "
            "answered, and the record could not be written just now. Send the same request "
            "again in a moment."
        ),
        headers={"Retry-After": BUSY_RETRY_AFTER},
    )


def record(
    action: str,
    people: Iterable[str] = (),
    *,
    play: str | None = None,
    subject: str | None = None,
    count: int | None = None,
) -> None:
    """Write the audit entry of what the current marketer request is about to do; raise
    the 503 problem when it cannot be written. Never logs a token, key or address.

    A list or batch that names nobody (`count` 0: an empty page of an audience or of the
    tasks, a batch of duplicates) gives out and changes nothing, and is not recorded, so
    the dashboard opening on an empty task list leaves no noise in the trail."""
    if count == 0:
        return
    who = principal()
    _write(Who(who.kind, who.name, who.role), action, people, play, subject, count)


def record_refusal(found: Principal, role: str) -> None:
    """Write that `found`, known but without `role`, asked for the current route: what it
    asked (method and route, the play when the route names one), under the highest role
    it holds. At most one entry a minute for the same principal and route in a container,
    so a key refused in a loop cannot flood the trail. The 403 that follows is answered
    whatever becomes of the entry: a refusal gives nothing out."""
    s = services()
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    now = s.clock()
    seen: dict[tuple[str, str, str, str], datetime] = current_app.extensions.setdefault(
        "befriend.refusals", {}
    )
    asked = (found.kind, found.name, request.method, rule)
    last = seen.get(asked)
    if last is not None and now - last < REFUSALS_EVERY:
        return
    if len(seen) >= REFUSALS_KEPT:
        seen.clear()  # a container refusing this many principals and routes starts afresh
    seen[asked] = now
    play = (request.view_args or {}).get("play_id")
    highest = max(found.held, key=ROLES.index)
    try:
        _write(
            Who(found.kind, found.name, highest),
            "access.refused",
            (),
            play if play in s.playbook.plays else None,
            f"{request.method} {rule} [{role}]",
            None,
        )
    except Exception:  # whatever the table says (busy, denied, gone), the answer is the 403
        log.warning("the audit trail did not take a refusal; answered 403")


def _write(
    who: Who,
    action: str,
    people: Iterable[str],
    play: str | None,
    subject: str | None,
    count: int | None,
) -> None:
    s = services()
    now = s.clock()
    entry = AuditEntry(
        id=secrets.token_hex(8),
        at=now,
        who=who,
        action=action,
        people=tuple(dict.fromkeys(people)),
        play=play,
        subject=subject,
        count=count,
        source=s.pseudonyms.audit_source(client_address()),
        kept_until=kept_until(now, s.playbook.audit),
    )
    try:
        s.store.record_audit(entry)
    except (Unavailable, ClientError, *UNREACHABLE) as exc:
        if isinstance(exc, ClientError) and not is_busy(exc):
            raise
        log.warning("the audit trail did not take %s; answered 503", action)
        raise unrecorded() from exc


@bp.get("/audit")
@requires("admin")
def audit_list() -> Response:
    """The audit trail, newest first, a page at a time: everything since `since` (30 days
    back when not given), or only what `who` did, or only what named `person`."""
    s = services()
    now = s.clock()
    since = _since(request.args.get("since"), now)
    who = _text("who")
    person = _text("person")
    limit = page_limit(request.args.get("limit"))
    filters = [since.isoformat(), who, person]
    cursor = request.args.get("cursor")
    walk = Walk() if cursor is None else _read_cursor(cursor, filters)
    if person is not None:
        entries, following = s.store.audit_of_person(person, since, now, walk, limit)
        if who is not None:
            entries = [e for e in entries if e.who.name == who]
    elif who is not None:
        entries, following = s.store.audit_by_who(who, since, now, walk, limit)
    else:
        entries, following = s.store.audit_window(since, now, walk, limit)
    after = (
        None
        if following is None
        else write_cursor(CURSOR_SALT, {"f": filters, "w": following.shown()})
    )
    code = page_language()  # the dashboard's, as the reports are said in
    words = translations(code)
    said = [e.shown(words) for e in entries]
    answer = json_answer({"entries": said, "next": after}, headers=in_language(code))
    answer.headers["Cache-Control"] = "no-store"
    if after is not None:
        params: dict[str, Any] = {
            k: v for k, v in request.args.items() if k in ("since", "who", "person")
        }
        link = url_for("marketer.audit_list", **params, limit=limit, cursor=after)
        answer.headers["Link"] = f'<{link}>; rel="next"'
    return answer


def _since(raw: str | None, now: datetime) -> datetime:
    """`since` as asked (30 days back when not); 400 for one that does not fit."""
    if raw is None:
        return now - WINDOW
    try:
        return read_since(raw, now)
    except ValueError as exc:
        raise bad_parameter("since", str(exc)) from exc


def _text(name: str) -> str | None:
    value = request.args.get(name)
    if value is None:
        return None
    if not value.strip() or len(value) > MAX_NAME:
        raise bad_parameter(name, f"must be 1 to {MAX_NAME} characters")
    return value


def _read_cursor(cursor: str, filters: list[str | None]) -> Walk:
    """A cursor this API signed for these same filters; 400 for anything else."""
    payload = read_cursor(CURSOR_SALT, cursor, longest=3000)
    walk = Walk.read(payload.get("w"))
    if payload.get("f") != filters or walk is None:
        raise invalid_cursor()
    return walk
