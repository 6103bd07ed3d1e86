"""The marketer's API: people, plays, audiences and reports out; events and play outcomes in.

Every route needs `Authorization: Bearer <API key or access token>`
(`befriend.credentials.keys`, `befriend.credentials.accounts`), checked before the body is
read: `reader` reads people one at a time, plays and reports; `ingest` sends events and
outcomes, claims sends through the gate (`sends.py`), reads and closes the tasks befriend's
dispatcher leaves for people (`tasks.py`) and takes plays' audiences (`audiences.py`);
`admin` may do all of it. Each refusal of a known key or account is recorded (`audit.py`).
A visitor's manage token is never an API key, nor an API key a manage token: keys are
looked up by hash, tokens are signed.

Nothing here grants a permission. Events say what people did and outcomes what was sent or
answered; only the person grants, on their own page. Audiences are read from the sharded
by-stage index, a bounded number of items per page, never by a scan.
"""

from __future__ import annotations

# Each module adds its routes to the one blueprint as it is imported.
from befriend.web.marketer import (  # noqa: F401
    audiences,
    audit,
    events,
    feedback_sources,
    links,
    outcomes,
    people,
    plays,
    reports,
    sends,
    tasks,
    webhooks,
    whoami,
)
from befriend.web.marketer.blueprint import bp

__all__ = ["bp"]
