"""The contract: request bodies read through their types, every wrong field named at once,
and the OpenAPI document derived from the same types with the playbook's values filled in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from befriend.core.contract import answers, requests
from befriend.core.contract.reading import Reading, as_type
from befriend.core.errors import InvalidInput
from befriend.core.playbook import Playbook
from befriend.web.openapi import document
from befriend.web.openapi.components import components, ref


def errors(body: object, kind: type[Any]) -> dict[str, str]:
    reading = Reading(body, kind)
    with pytest.raises(InvalidInput) as caught:
        reading.done()
    return {e.field: e.message for e in caught.value.errors}


def test_every_wrong_field_is_named_at_once_with_its_pointer() -> None:
    found = errors(
        {
            "email": 7,
            "permissions": [{"channel": "email", "purpose": 1}],
            "time_zone": "",
            "colour": "blue",
        },
        requests.Signup,
    )
    assert found == {
        "email": "an email address is required",  # the field's own words
        "permissions/0/purpose": "must be a string",  # below the field, plainly put
        "time_zone": "must be an IANA time zone name such as Europe/Berlin",
        "colour": "unknown field; allowed: email, interests, name, origin, permissions, phone, "
        "policy_version, time_zone",
        "policy_version": "must be the current policy version",  # required, and missing
    }


def test_an_entry_keyed_by_channel_is_one_field() -> None:
    found = errors(
        {"quiet_hours": {"sms": {"from": "9pm", "until": "07:00"}}, "max_per_week": {"x": -1}},
        requests.SettingsPatch,
    )
    assert found == {
        "quiet_hours/sms": "must be a 24-hour time like 21:00",
        "max_per_week/x": "must be 0 or more",
    }


def test_null_and_absent_stay_apart() -> None:
    reading = Reading({"paused_until": None}, requests.SettingsPatch)
    reading.done()
    assert reading.sent("paused_until") and reading.get("paused_until", "absent") is None
    assert not reading.sent("time_zone") and reading.get("time_zone", "absent") == "absent"


@pytest.mark.parametrize("body", [None, [], "text", 3])
def test_a_body_that_is_not_an_object_is_refused(body: object) -> None:
    assert errors(body, requests.TokenOnly) == {"": "the body must be a JSON object"}


def test_an_item_of_a_batch_says_what_does_not_fit() -> None:
    with pytest.raises(InvalidInput) as caught:
        as_type({"id": "e1", "person": "p", "type": "visit"}, requests.EventIn)
    assert caught.value.errors[0].message == "at is required"


def test_the_document_holds_no_marks_and_only_the_playbooks_values(playbook: Playbook) -> None:
    served = json.dumps(document(playbook))
    assert "x-playbook" not in served and "x-every" not in served
    schemas = components(playbook)
    signup = schemas["Signup"]["properties"]
    # The current version in each language: a sign-up agrees to the text its page showed.
    versions = ["2026-11-01", "2026-11-01-de", "2026-11-01-fr", "2026-11-01-es"]
    assert signup["policy_version"]["enum"] == versions == list(playbook.policy_versions.values())
    # The public playbook is said in the language asked for, its policy's version with it.
    assert schemas["Policy"]["properties"]["version"]["enum"] == versions
    assert schemas["Pair"]["properties"]["channel"]["enum"] == list(playbook.channels)
    assert len(schemas["Pair"]["anyOf"]) == len({c for c, _ in playbook.grid()})
    quiet = schemas["Settings"]["properties"]["quiet_hours"]
    assert quiet["required"] == list(playbook.channels)  # every channel, in the answer
    patch = schemas["SettingsPatch"]["properties"]["max_per_week"]
    assert patch["required"] == []  # any channel, in a patch
    cap = patch["properties"][next(iter(playbook.channels))]["anyOf"][0]
    assert cap["maximum"] == playbook.max_per_week
    person = schemas["Person"]["properties"]["permissions"]
    assert person["minItems"] == person["maxItems"] == len(playbook.grid())


def test_every_type_of_the_contract_is_a_component(playbook: Playbook) -> None:
    schemas = components(playbook)
    for kind in (*requests.REQUESTS, *answers.ANSWERS):
        assert kind.__name__ in schemas
        assert ref(kind) == {"$ref": f"#/components/schemas/{kind.__name__}"}
    with pytest.raises(KeyError):
        ref(requests.Body)


def test_request_types_are_closed_and_problems_open(playbook: Playbook) -> None:
    schemas = components(playbook)
    for kind in requests.REQUESTS:
        assert schemas[kind.__name__]["additionalProperties"] is False, kind.__name__
    assert "additionalProperties" not in schemas["Problem"]


def test_every_change_the_playbook_refuses_is_named(playbook: Playbook) -> None:
    from befriend.core.commands import read_permission_changes

    with pytest.raises(InvalidInput) as caught:
        read_permission_changes(
            {
                "changes": [
                    {"channel": "pigeon", "purpose": "offers", "granted": True},
                    {"channel": "email", "purpose": "newsletter", "granted": True},
                    {"channel": "email", "purpose": "gossip", "granted": False},
                ]
            },
            playbook,
        )
    assert [e.field for e in caught.value.errors] == ["changes/0/channel", "changes/2/purpose"]
