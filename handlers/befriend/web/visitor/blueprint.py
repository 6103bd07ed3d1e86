"""The visitor's blueprint, and the answers its routes share."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from befriend.core.overview import person_view
from befriend.core.person import Person
from befriend.web.inputs import request_language, words
from befriend.web.services import services

bp = Blueprint("visitor", __name__, url_prefix="/api")

# What a request for mail is answered, whatever the address: the answer must not tell
# whether anyone signed up with it.
ACCEPTED = {
    "status": "accepted",
    "detail": "If this address can receive mail, a message is on its way. It may take a few"
    " minutes; please check your spam folder too.",
}


def own_page(person: Person) -> dict[str, Any]:
    """The body of GET /api/me: the person's data and choices, and where they stand."""
    s = services()
    # The playbook's words (labels, stages, what plays say) and the reasons for each next
    # step in the page's language.
    playbook = s.playbook.in_language(request_language())
    return person_view(person, playbook, s.clock(), words())
