"""The visitor's API under /api: sign up and ask for a link by mail (`signup`), confirm a
sign-up (`confirm`), and the person's own page, /api/me and below (`me`).

Nothing is granted but by the person's own click on their confirmation link, and a manage
token only ever reaches its own person. The decisions are the core's (`core/signups.py`,
`core/changes.py`, `core/engagement.py`); the views read the request, check the token, and
write through the one writer (`web/people.py`).
"""

from __future__ import annotations

# Each module adds its routes to the one blueprint as it is imported.
from befriend.web.visitor import (  # noqa: F401
    confirm,
    contacts_email,
    contacts_phone,
    contacts_postal,
    invite,
    me,
    signup,
)
from befriend.web.visitor.blueprint import bp

__all__ = ["bp"]
