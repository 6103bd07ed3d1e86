"""Public, unauthenticated reads: the playbook's public part, health, the OpenAPI document."""

from __future__ import annotations

import json

from flask import Blueprint, Response

from befriend.web.openapi import document
from befriend.web.services import services

bp = Blueprint("public", __name__, url_prefix="/api")


def _json(body: object, max_age: int = 0) -> Response:
    answer = Response(json.dumps(body), mimetype="application/json")
    if max_age:
        answer.headers["Cache-Control"] = f"public, max-age={max_age}"
    return answer


@bp.get("/playbook")
def playbook() -> Response:
    return _json(services().playbook.public(), max_age=300)


@bp.get("/health")
def health() -> Response:
    return _json({"status": "ok"})


@bp.get("/openapi.json")
def openapi() -> Response:
    return _json(document(services().playbook), max_age=300)
