"""Codes for invite links and tracked sign-up links: short, random, and nothing else.

A code is drawn from lower-case letters and digits without the ones read alike (0/o,
1/l/i), ten of them (some 50 bits): too many to guess one that is in use, short enough to
read out or print under a QR code. It holds no personal data; the store says whose it is.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from befriend.store.megaphone import Megaphones, TrackedLink

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 10


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


# A code drawn twice is drawn again; ten in a row all taken would mean a broken store.
DRAWS = 10


def new_tracked_link(store: Megaphones, source: str, campaign: str, now: datetime) -> TrackedLink:
    """Keep a new tracked sign-up link for `campaign` (from `source`), under a fresh code."""
    for _ in range(DRAWS):
        link = TrackedLink(new_code(), source, campaign, now)
        if store.add_tracked_link(link):
            return link
    raise RuntimeError("no free code for a tracked link")
