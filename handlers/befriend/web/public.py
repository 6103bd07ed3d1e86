"""Public, unauthenticated reads: the playbook's public part, health, the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response

from befriend.web.answers import json_answer
from befriend.web.services import services

bp = Blueprint("public", __name__, url_prefix="/api")
CACHEABLE = {"Cache-Control": "public, max-age=300"}


@bp.get("/playbook")
def playbook() -> Response:
    return json_answer(services().playbook.public(), headers=CACHEABLE)


@bp.get("/health")
def health() -> Response:
    return json_answer({"status": "ok"})


@bp.get("/openapi.json")
def openapi() -> Response:
    # Imported here: the document and the answer types it is derived from are wanted by
    # few requests, and every cold start would otherwise pay for them.
    from befriend.web.openapi import document

    return json_answer(document(services().playbook), headers=CACHEABLE)
