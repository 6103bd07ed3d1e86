"""Where a play mail's links may send people: the site's own host and the hosts the
playbook names (`[organisation] link_hosts`), nowhere else.

A content link in a play mail goes through befriend's redirect (`web/links.py`), which
records that it was followed and then sends the person on. A redirect that sends anyone
anywhere is an open redirect: a phisher's link would borrow the organisation's name. The
destination is signed into the link, and is checked again here when the link is followed,
so a host taken out of the playbook stops working at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

# A lower-case DNS name of two labels or more, each 1 to 63 letters, digits or hyphens.
HOST = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)
# Longer destinations are refused when a mail is composed: a link must fit in a mail line
# and a browser's address bar once signed (about 4/3 of it, plus some 80 characters).
MAX_URL = 1024
# Printable ASCII without space, backslash (browsers read it as "/") or quotes: whatever a
# URL needs beyond that is percent-encoded.
_URL_CHARS = re.compile(r"[!#-&(-\[\]-~]+")


def allowed(url: str, site_url: str, hosts: Iterable[str]) -> bool:
    """Whether a link may send people to `url`: an https address on one of `hosts`, or any
    address on the site itself (its own scheme, host and port, as `site_url` says), with
    no user name or password in it."""
    if len(url) > MAX_URL or not _URL_CHARS.fullmatch(url):
        return False
    try:
        target, site = urlsplit(url), urlsplit(site_url)
        port = target.port  # a port that is not a number raises
    except ValueError:
        return False
    if target.username is not None or target.password is not None or not target.hostname:
        return False
    if (target.scheme, target.netloc.lower()) == (site.scheme, site.netloc.lower()):
        return True
    return (
        target.scheme == "https"
        and port is None
        and target.netloc == target.hostname
        and target.hostname in set(hosts)
    )
