"""What fuzzing found, kept as plain tests.

Who asks must be settled before what they send is read. A manage token that was genuine
but is stale (signed out everywhere, or its person erased) used to be refused only once
the body had been read and checked, so a bad body earned that body's problem (400, 415,
422), and declining an unknown step a 404, instead of the 401 every other spoiled token
gets first. The visitor's routes now look up the person the token names first.
"""

from __future__ import annotations

from tests.fuzz.conftest import Served
from tests.fuzz.world import World
from tests.web.openapi_check import check_response

BAD_BODIES = [
    ("PATCH", "/api/me/permissions", {"changes": []}),
    ("PUT", "/api/me/interests", {"interests": ["knitting"]}),
    ("PATCH", "/api/me/settings", {"colour": "blue"}),
    ("POST", "/api/me/survey", []),
    ("POST", "/api/me/next-steps/no-such-step/decline", None),
]


def test_a_forged_token_is_refused_before_the_body_is_read(world: World) -> None:
    forged = world.token("manage", secret="another-secret-that-is-long-enough-0123")
    for method, path, body in BAD_BODIES:
        answer = world.client.open(
            path, method=method, json=body, headers={"Authorization": f"Bearer {forged}"}
        )
        assert answer.status_code == 401, (method, path)


def test_a_signed_out_token_is_refused_before_the_body_is_read(world: World) -> None:
    visitor = world.visitor
    signed_out = world.client.post("/api/me/sign-out-everywhere", headers=visitor.auth)
    assert signed_out.status_code == 200
    for method, path, body in BAD_BODIES:
        answer = world.client.open(path, method=method, json=body, headers=visitor.auth)
        assert answer.status_code == 401, (method, path, answer.status_code)


def test_an_erased_persons_token_is_refused_before_the_body_is_read(world: World) -> None:
    visitor = world.visitor
    assert world.client.delete("/api/me", headers=visitor.auth).status_code == 204
    for method, path, body in BAD_BODIES:
        answer = world.client.open(path, method=method, json=body, headers=visitor.auth)
        assert answer.status_code == 401, (method, path, answer.status_code)


def test_a_form_post_reusing_an_idempotency_key_gets_a_problem(
    world: World, served: Served
) -> None:
    """The document promised a page for every 422 to a form post; a reused key is a
    problem, as for JSON (a browser's form sends no Idempotency-Key)."""
    key = {"Idempotency-Key": "form-post-key"}
    form = {"email": world.address(), "policy_version": world.playbook.policy.version}
    assert world.client.post("/api/signup", data=form, headers=key).status_code == 303
    again = world.client.post("/api/signup", data={**form, "name": "Other"}, headers=key)
    assert again.status_code == 422
    assert again.mimetype == "application/problem+json"
    assert again.get_json()["type"].endswith("/idempotency-key-reused")
    check_response(served.document, "POST", "/api/signup", again)
    form_errors = served.document["components"]["responses"]["FormErrors"]
    assert "Idempotency-Key is a problem" in form_errors["description"]
