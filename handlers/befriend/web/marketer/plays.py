"""The plays of the playbook, as the marketer's API lists and names them."""

from __future__ import annotations

from typing import Any

from flask import Response

from befriend.core.playbook import Play
from befriend.core.words import N_
from befriend.web.answers import json_answer
from befriend.web.marketer.blueprint import bp, requires
from befriend.web.problems import Problem
from befriend.web.services import services


@bp.get("/plays")
@requires("reader")
def list_plays() -> Response:
    return json_answer({"plays": [_play_json(p) for p in services().playbook.plays.values()]})


def _play_json(play: Play) -> dict[str, Any]:
    return {
        "id": play.id,
        "kind": play.kind,
        "says": play.says,
        "stages": list(play.stages),
        "circles": list(play.circles),
        "channel": play.channel,
        "purpose": play.purpose,
        "interests": list(play.interests),
        "cooldown_days": play.cooldown_days,
        "priority": play.priority,
        "asks": None if play.asks is None else {"channel": play.asks[0], "purpose": play.asks[1]},
    }


def _play(play_id: str) -> Play:
    plays = services().playbook.plays
    play = plays.get(play_id)
    if play is None:
        raise Problem(
            404,
            "unknown-play",
            N_("There is no such play"),
            N_("Plays: %(plays)s"),
            {"plays": ", ".join(plays)},
        )
    return play
