"""`GET /api/whoami`: who the bearer token speaks for and every role it holds, so the
dashboard shows only what that key or person may do. Open to any role."""

from __future__ import annotations

from flask import Response

from befriend.web.answers import json_answer
from befriend.web.marketer.blueprint import bp, signed_in


@bp.get("/whoami")
def whoami() -> Response:
    found = signed_in()
    return json_answer({"kind": found.kind, "name": found.name, "roles": list(found.held)})
