"""Tracked sign-up links: each campaign (a talk, a shop counter's QR code, a partner site)
gets an address of its own, and the sources report counts sign-ups by it.

A link is a short random code kept with its source and campaign (`store/megaphone.py`);
the address carries the code as `ref` and says the same in `utm_*`. What the report counts
is read from the stored link, never from the address, so nobody can invent a campaign by
typing one (`core/megaphone.py`)."""

from __future__ import annotations

from flask import Response

from befriend.core.commands import read_tracked_link
from befriend.core.megaphone import signup_url
from befriend.credentials.invites import new_tracked_link
from befriend.store.megaphone import TrackedLink
from befriend.web.answers import json_answer
from befriend.web.inputs import json_body
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.services import services


def shown(link: TrackedLink) -> dict[str, object]:
    s = services()
    url = signup_url(s.settings.site_url, link.source, link.campaign, link.code)
    return {**link.shown(), "url": url}


@bp.post("/links")
@requires("admin")
def create_link() -> Response:
    """A new tracked sign-up link: its code and the sign-up page's address that carries it."""
    source, campaign = read_tracked_link(json_body())
    s = services()
    return json_answer(shown(new_tracked_link(s.store, source, campaign, s.clock())), 201)


@bp.get("/links")
@requires("reader")
def list_links() -> Response:
    """Every tracked sign-up link, newest first."""
    links = sorted(services().store.tracked_links(), key=lambda x: x.created_at, reverse=True)
    return json_answer({"links": [shown(link) for link in links]})
