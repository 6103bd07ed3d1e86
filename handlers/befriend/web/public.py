"""Public, unauthenticated reads: the playbook's public part, health, the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response

from befriend.i18n.catalogs import translations
from befriend.web.answers import json_answer
from befriend.web.language import in_language, page_language
from befriend.web.services import services

bp = Blueprint("public", __name__, url_prefix="/api")
CACHEABLE = {"Cache-Control": "public, max-age=300"}


@bp.get("/playbook")
def playbook() -> Response:
    """The playbook's public part in the language asked for (`?lang=`, else the request's:
    `web/language.py` `page_language`); ids and rules are the same in every language."""
    code = page_language()
    public = services().playbook.in_language(code).public()
    if public["survey"] is not None:  # the core's own answers, marked N_ where written
        words = translations(code)
        for answer in public["survey"]["how_often"]:
            answer["label"] = words.gettext(answer["label"])
    return json_answer(public, headers={**CACHEABLE, **in_language(code)})


@bp.get("/health")
def health() -> Response:
    return json_answer({"status": "ok"})


@bp.get("/openapi.json")
def openapi() -> Response:
    # Imported here: the document and the answer types it is derived from are wanted by
    # few requests, and every cold start would otherwise pay for them.
    from befriend.web.openapi import document

    return json_answer(document(services().playbook), headers=CACHEABLE)
