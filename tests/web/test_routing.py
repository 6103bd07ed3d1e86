"""Routes compile their URL builders on first use (web/routing.py), and still build and
match every URL as werkzeug's own rules do."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule

from befriend.web.routing import LazyRule

SAMPLES = {"int": 7, "default": "abc_1", "string": "abc_1", "path": "a/b"}


def _values(rule: Rule) -> dict[str, Any]:
    converters = rule._converters  # the converter of each variable, by name
    return {
        name: SAMPLES.get(type(conv).__name__.removesuffix("Converter").lower(), "abc_1")
        for name, conv in converters.items()
    }


def test_every_route_builds_the_url_it_matches(app: Any) -> None:
    rules = list(app.url_map.iter_rules())
    assert rules and all(isinstance(rule, LazyRule) for rule in rules)
    adapter = app.url_map.bind("api.example")
    for rule in rules:
        values = _values(rule)
        method = next(iter(sorted(rule.methods - {"HEAD", "OPTIONS"})), "GET")
        url = adapter.build(rule.endpoint, values, method=method)
        endpoint, found = adapter.match(url, method=method)
        assert (endpoint, found) == (rule.endpoint, {**(rule.defaults or {}), **values}), url


def test_unknown_values_go_to_the_query_string(app: Any) -> None:
    with app.test_request_context():
        from flask import url_for

        assert url_for("marketer.open_tasks", limit=3, cursor="x y") == (
            "/api/tasks?limit=3&cursor=x+y"
        )


def test_a_rule_builds_the_same_url_every_time(app: Any) -> None:
    adapter = app.url_map.bind("api.example")
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "marketer.open_tasks")
    first = adapter.build("marketer.open_tasks", {"limit": 1})
    assert adapter.build("marketer.open_tasks", {"limit": 1}) == first == "/api/tasks?limit=1"
    assert rule.build({}) == ("", "/api/tasks")
