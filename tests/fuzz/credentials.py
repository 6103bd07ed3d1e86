"""Which credential each operation needs, how to give a generated request a genuine one,
and how to spoil it so the request must be refused.

The document says what guards an operation: `manageToken` (a visitor), `marketerKey` with
the role its description names, or nothing. Others carry their credential elsewhere: the
confirmation routes (`/api/confirm…`) and the email change's confirm and undo routes
(`/api/contacts/email/…`, each its own link's scope) in the body, and the unsubscribe link
in the path.
"""

from __future__ import annotations

import copy
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from hypothesis import strategies as st
from schemathesis import Case

from tests.fuzz.world import World

Kind = Literal["manage", "key", "confirm", "link", "unsubscribe", "feedback", "open"]
# Routes whose token, in the body, comes from a mailed link of its own scope.
LINKS: dict[str, Literal["email-change", "email-undo"]] = {
    "/api/contacts/email/confirm": "email-change",
    "/api/contacts/email/undo": "email-undo",
}
GARBAGE = st.text(alphabet=string.ascii_letters + string.digits + "-._~+/=", max_size=200)
OTHER_SCHEMES = ("Basic", "Digest", "Token", "Bearer:")
# A path segment; "." and ".." are not, as every client drops or resolves them.
SEGMENT = st.text(
    alphabet=string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:@", min_size=1
).filter(lambda segment: segment not in {".", ".."})
ACCEPT = st.sampled_from(
    [None, "*/*", "application/json", "text/html", "text/html,application/xhtml+xml;q=0.9"]
)
REFUSED_NOW = frozenset({401, 403})


@dataclass(frozen=True)
class Guard:
    kind: Kind
    role: str | None = None


def guard_of(path: str, operation: Mapping[str, Any]) -> Guard:
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    if "manageToken" in schemes:
        return Guard("manage")
    if "marketerKey" in schemes:
        description = operation.get("description", "")
        if "with any role." in description:  # GET /api/whoami
            return Guard("key", "any")
        named = re.search(r"the role (\w+)(?: \(or admin\))?\.", description)
        assert named, f"{path}: the description does not name the key's role"
        return Guard("key", named.group(1))
    if path in ("/api/confirm", "/api/confirm/preview", "/api/confirm/fresh-link"):
        return Guard("confirm")
    if path in LINKS:
        return Guard("link", LINKS[path])
    if "{token}" in path:
        return Guard("unsubscribe")
    if path.startswith("/api/feedback/"):
        # A tool's signature, token or URL secret: generated requests carry none that a
        # registered source would take (tests/feedback/test_tools.py sends genuine ones).
        return Guard("feedback")
    return Guard("open")


Draw = Callable[[st.SearchStrategy[Any]], Any]


def _headers(case: Case[Any]) -> Any:
    if case.headers is None:
        case.headers = {}
    return case.headers


def _own_copies(case: Case[Any]) -> None:
    """Edit copies: a generated body or header set may be an object the strategy hands
    out again (a `const`), and changing it in place would change later examples."""
    if isinstance(case.body, dict | list):
        case.body = copy.deepcopy(case.body)
    if case.headers is not None:
        case.headers = case.headers.copy()


def _authorize(case: Case[Any], header: str | None) -> None:
    headers = _headers(case)
    headers.pop("Authorization", None)
    if header is not None:
        headers["Authorization"] = header


def arm(case: Case[Any], guard: Guard, world: World, draw: Draw) -> None:
    """Give the request the credential its operation needs, and point it at real people."""
    _own_copies(case)
    visitor = world.visitor
    if guard.kind == "manage":
        _fresh_key(case, world, draw)
        _authorize(case, f"Bearer {visitor.token}")
        if draw(st.booleans()):
            _headers(case)["Sec-GPC"] = "1"
    elif guard.kind == "key":
        held = ["reader", "ingest"] if guard.role == "any" else [guard.role or "admin"]
        role = draw(st.sampled_from([*held, "admin"]))
        _authorize(case, f"Bearer {world.keys[role]}")
        _aim_at_people(case, world, draw)
    elif guard.kind == "confirm":
        _fresh_key(case, world, draw)
        if isinstance(case.body, dict) and draw(st.integers(0, 3)):
            case.body["token"] = world.pending()[1]
    elif guard.kind == "link":
        _fresh_key(case, world, draw)
        if isinstance(case.body, dict) and draw(st.integers(0, 3)):
            case.body["token"] = world.token(_scope(guard), address=world.address())
    elif guard.kind == "feedback":
        return
    elif guard.kind == "unsubscribe":
        pb = world.playbook
        channel = draw(st.sampled_from(sorted(pb.channels)))
        purpose = draw(st.sampled_from([None, *sorted(pb.purposes)]))
        case.path_parameters = {
            **(case.path_parameters or {}),
            "token": world.token("unsubscribe", channel=channel, purpose=purpose),
        }
        accept = draw(ACCEPT)
        if accept:
            _headers(case)["Accept"] = accept
    else:
        _fresh_key(case, world, draw)
        if isinstance(case.body, dict) and "email" in case.body and draw(st.booleans()):
            case.body["email"] = visitor.email
        if draw(st.booleans()):
            _headers(case)["Sec-GPC"] = "1"


def _fresh_key(case: Case[Any], world: World, draw: Draw) -> None:
    """Generated Idempotency-Keys repeat across examples, and a repeat with another body
    is refused (422): make some of them unique, so the first use is fuzzed too."""
    key = _headers(case).get("Idempotency-Key")
    if key and len(key) < 200 and draw(st.booleans()):
        _headers(case)["Idempotency-Key"] = f"{key}-{world.serial()}"


def _aim_at_people(case: Case[Any], world: World, draw: Draw) -> None:
    """Generated person ids name nobody; some of them should name the visitor."""
    params = case.path_parameters or {}
    if "person_id" in params and draw(st.booleans()):
        case.path_parameters = {**params, "person_id": world.visitor.id}
    body = case.body
    for field in ("events", "outcomes"):
        items = body.get(field) if isinstance(body, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and draw(st.booleans()):
                item["person"] = draw(st.sampled_from([world.visitor.id, world.visitor.email]))
                item["at"] = world.clock().isoformat()


def spoil(case: Case[Any], guard: Guard, world: World, draw: Draw) -> frozenset[int] | None:
    """Replace the credential with one that must not work; the statuses that may answer
    (None: the operation needs no credential, so any documented answer but 401 and 403)."""
    _own_copies(case)
    if guard.kind == "manage":
        wrong_scope = [world.token("unsubscribe", channel="email"), world.token("confirm")]
        bad = [*_forgeries(world, "manage"), *wrong_scope, *_stale(world)]
        _authorize(case, draw(_refused(world.visitor.token, bad)))
        return REFUSED_NOW
    if guard.kind == "key":
        role = guard.role or "admin"
        other = "ingest" if role == "reader" else "reader"
        # A route open to any role has no wrong one: only what is no live key at all.
        wrong_role = [] if role == "any" else [world.keys[other]]
        role = "reader" if role == "any" else role
        bad = [world.keys["revoked"], *wrong_role, world.visitor.token]
        _authorize(case, draw(_refused(world.keys[role], bad, prefix="bfk_")))
        return REFUSED_NOW
    if guard.kind == "confirm":
        wrong_scope = [world.visitor.token, world.token("unsubscribe", channel="email")]
        bad = [*_forgeries(world, "confirm"), *wrong_scope]
        # Not empty: the document refuses an empty token as an invalid field (422).
        case.body = {"token": draw(st.one_of(st.sampled_from(bad), GARBAGE.filter(bool)))}
        # Refused for the token before anything else, a malformed Idempotency-Key included.
        return REFUSED_NOW
    if guard.kind == "link":
        scope = _scope(guard)
        bad = [
            world.token(scope, secret="another-secret-that-is-long-enough-0123"),
            world.token(scope, age=timedelta(days=8)),
            world.visitor.token,
            world.token("confirm"),
        ]
        case.body = {"token": draw(st.one_of(st.sampled_from(bad), GARBAGE.filter(bool)))}
        return REFUSED_NOW
    if guard.kind == "feedback":
        return REFUSED_NOW
    if guard.kind == "unsubscribe":
        token = draw(st.one_of(st.sampled_from([world.visitor.token]), SEGMENT))
        case.path_parameters = {**(case.path_parameters or {}), "token": token}
        return frozenset({401})
    # Whatever credential comes along, even a genuine one, is ignored here.
    _authorize(case, draw(_refused(world.visitor.token, [world.keys["admin"]])))
    return None


def _scope(guard: Guard) -> Literal["email-change", "email-undo"]:
    return "email-undo" if guard.role == "email-undo" else "email-change"


def _forgeries(world: World, scope: Literal["manage", "confirm"]) -> list[str]:
    """Tokens of the right scope that the signature check alone refuses: signed with
    another secret, or expired."""
    max_age = {"manage": timedelta(days=91), "confirm": timedelta(days=8)}[scope]
    return [
        world.token(scope, secret="another-secret-that-is-long-enough-0123"),
        world.token(scope, age=max_age),
    ]


def _stale(world: World) -> list[str]:
    """Genuine manage tokens that no longer work: from before a sign-out everywhere, and
    for someone who is not here (erased)."""
    return [world.token("manage", generation=7), world.token("manage", person="gone")]


def _refused(genuine: str, bad: list[str], prefix: str = "") -> st.SearchStrategy[str | None]:
    """Authorization headers that must not work: a bad token as bearer, the genuine one
    under another scheme, a garbage bearer (that starts with `prefix`), or none at all."""
    return st.one_of(
        st.sampled_from(bad).map(lambda token: f"Bearer {token}"),
        st.sampled_from(OTHER_SCHEMES).map(lambda scheme: f"{scheme} {genuine}"),
        GARBAGE.map(lambda junk: f"Bearer {prefix}{junk}"),
        st.none(),
    )
