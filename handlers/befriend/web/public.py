"""Public, unauthenticated reads: the playbook's public part, health, the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response

from befriend.web.answers import json_answer
from befriend.web.openapi import document
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
    return json_answer(document(services().playbook), headers=CACHEABLE)
