"""Where a play mail's links may lead (core/links.py): the site, and the hosts the
playbook names exactly as written; the playbook refuses anything else as a host."""

from __future__ import annotations

from pathlib import Path

import pytest

from befriend.core.errors import PlaybookError
from befriend.core.links import MAX_URL, allowed
from befriend.core.playbook import load_playbook

DEFAULT = (Path(__file__).parents[2] / "handlers/befriend/playbook.toml").read_text()
SITE = "http://localhost:8000"
HOSTS = ("shop.example.com",)
LANGUAGE = 'language = "en"\n'


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/",
        "https://shop.example.com/a/b?c=d&e=%20f#g",
        "http://localhost:8000/privacy/",
        "http://LOCALHOST:8000/",
    ],
)
def test_the_site_and_the_hosts_named_are_allowed(url: str) -> None:
    assert allowed(url, SITE, HOSTS)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.net/",
        "http://shop.example.com/",
        "https://shop.example.com:443/",
        "https://user@shop.example.com/",
        "https://shop.example.com@evil.example.net/",
        "https://shop.example.com\\@evil.example.net/",
        "https://sub.shop.example.com/",
        "https://shop.example.com.evil.example.net/",
        "http://localhost:8001/",
        "https://localhost:8000/",
        "//evil.example.net/",
        "/relative",
        "javascript:alert(1)",
        "https://shop.example.com/ spaced",
        "https://shop.example.com/\nSet-Cookie: x",
        "https://shop.example.com:x/",
        "https://shop.example.com/" + "a" * MAX_URL,
    ],
)
def test_anything_else_is_not(url: str) -> None:
    assert not allowed(url, SITE, HOSTS)


def test_the_playbook_reads_link_hosts() -> None:
    text = DEFAULT.replace(LANGUAGE, LANGUAGE + 'link_hosts = ["shop.example.com"]\n', 1)
    assert load_playbook(text).organisation.link_hosts == ("shop.example.com",)
    assert load_playbook(DEFAULT).organisation.link_hosts == ()


@pytest.mark.parametrize(
    "given",
    [
        '"shop.example.com"',
        '["https://shop.example.com"]',
        '["shop.example.com:443"]',
        '["*.example.com"]',
        '["Shop.example.com"]',
        '["shop.example.com/path"]',
        '["localhost"]',
        "[1]",
    ],
)
def test_the_playbook_refuses_what_is_not_a_host_name(given: str) -> None:
    assert LANGUAGE in DEFAULT
    with pytest.raises(PlaybookError, match=r"organisation\.link_hosts"):
        load_playbook(DEFAULT.replace(LANGUAGE, f"{LANGUAGE}link_hosts = {given}\n", 1))
