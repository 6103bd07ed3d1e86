"""Babel writes dates in mails and texts only (i18n/formats.py): the API's cold start never
imports it, whatever it answers. A fresh interpreter imports the Lambda entry as Lambda does
and answers GET /api/me for a real person, against moto's server."""

from __future__ import annotations

import json
from pathlib import Path

from befriend.clock import system_clock
from befriend.core.playbook import Playbook
from befriend.credentials.tokens import Tokens
from befriend.local.demo import seed
from befriend.store import Store
from tests.conftest import REGION, ROOT, run_lambda

SECRET = "s3cr3t-" + "x" * 33  # run_lambda's, so the token issued here is the API's

ME = """
import json, sys
import befriend.lambda_app as entry
with open(sys.argv[1], encoding="utf-8") as source:
    answer = entry.handler(json.load(source), None)
print(json.dumps({
    "status": answer["statusCode"],
    "babel": sorted(m for m in sys.modules if m == "babel" or m.startswith("babel.")),
    "formats": "befriend.i18n.formats" in sys.modules,
}))
"""


def test_answering_get_api_me_imports_no_babel(
    moto_server: str, playbook: Playbook, tmp_path: Path
) -> None:
    table = "befriend-babel-cold"
    store = Store(table, endpoint_url=moto_server, region=REGION)
    store.create_table()
    now = system_clock()
    (person_id,) = seed(store, playbook, SECRET, now, people=1)
    person = store.person(person_id, now)
    assert person is not None
    token = Tokens(SECRET, system_clock).issue("manage", person_id, person.token_generation)
    event = tmp_path / "me.json"
    text = (ROOT / "tests/events/http-api-v2-me.json").read_text(encoding="utf-8")
    event.write_text(text.replace("{{token}}", token), encoding="utf-8")

    done = run_lambda(
        ME,
        str(event),
        cwd=tmp_path,
        endpoint=moto_server,
        BEFRIEND_TABLE=table,
        BEFRIEND_SITE_URL="https://prefs.example",
    )

    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.strip().splitlines()[-1])
    assert said["status"] == 200, done.stderr
    assert said["babel"] == []
