"""Consent receipts after the Kantara Initiative Consent Receipt Specification v1.1.

A receipt is derived from one ledger entry that granted or withdrew permissions, so it can
always be rebuilt and never disagrees with the ledger. Fields Kantara does not define
(`status`, `channel`, `ledgerSeq`, `ledgerHash`) are additions that say which way the
decision went and where its evidence lives, and `contactPoint`: on each service, the
email address, number or postal address the permission was given for, as the ledger
recorded it when it was granted (a keyed hash, and masked: `+44 •••• ••• 123`,
`v•••@e•••.org`, `Leeds, GB`), named on later receipts for that channel too (a withdrawal
says which number's permission ended).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from befriend.core.person import parse_iso
from befriend.core.playbook import Playbook

VERSION = "KI-CR-v1.1.0"
_METHODS = {
    "form": "web form, double opt-in",
    "confirm": "web form, confirmed by email (double opt-in)",
    "api": "preference page",
    "one-click": "one-click unsubscribe (RFC 8058)",
    "gpc": "Global Privacy Control signal (Sec-GPC)",
    "import": "import",
    "expiry": "lapsed after the consent refresh period",
    "contact-change": "ended: the contact point it was given for changed",
    "complaint": "ended: a mail to the address was reported as spam",
    "sms-keyword": "a keyword texted from the number (STOP, START)",
    "tool": "reported by another sending tool (a signed notice)",
    "mailchimp": "reported by Mailchimp (an unsubscribe or a complaint there)",
    "brevo": "reported by Brevo (an unsubscribe or a complaint there)",
}


def receipts(
    entries: Iterable[Mapping[str, Any]], playbook: Playbook, site_url: str
) -> list[dict[str, Any]]:
    """One receipt per ledger entry that changed a permission, oldest first.

    `site_url` makes the policy URL absolute: a receipt must stand on its own. A refusal
    that left a permission as it was (a sharing grant refused under GPC) changed no consent
    and gets no receipt; the ledger keeps it as evidence."""
    out = []
    given: dict[str, dict[str, Any]] = {}  # channel: the contact point its grant named last
    for entry in entries:
        _given_for(entry, playbook, given)
        by_channel: dict[str, list[dict[str, Any]]] = {}
        for change in entry["changes"]:
            what = str(change["what"])
            renewed = change["old"] == change["new"] == "granted"
            if not what.startswith("permission:") or (
                change["old"] == change["new"] and not renewed
            ):
                continue
            _, channel, purpose = what.split(":", 2)
            by_channel.setdefault(channel, []).append(_purpose(purpose, change, playbook))
        if by_channel:
            out.append(_receipt(entry, by_channel, playbook, site_url, given))
    return out


def _given_for(
    entry: Mapping[str, Any], playbook: Playbook, given: dict[str, dict[str, Any]]
) -> None:
    """Note the contact point each permission granted in `entry` was given for: the entry
    names one per kind (`contact:<kind>:given-for`), which its grants of that kind share."""
    named: dict[str, dict[str, Any]] = {}
    for change in entry["changes"]:
        kind = str(change["what"]).removeprefix("contact:").removesuffix(":given-for")
        if str(change["what"]) == f"contact:{kind}:given-for" and isinstance(change["new"], dict):
            new = change["new"]
            named[kind] = {"kind": kind, "key": new.get("key"), "shown": new.get("shown")}
    for change in entry["changes"]:
        what = str(change["what"])
        if what.startswith("permission:") and change["new"] == "granted":
            channel = what.split(":", 2)[1]
            found = playbook.channels.get(channel)
            if found is not None and found.kind in named:
                given[channel] = named[found.kind]
            else:
                given.pop(channel, None)  # granted for no recorded point: name none


def _purpose(purpose: str, change: Mapping[str, Any], playbook: Playbook) -> dict[str, Any]:
    found = playbook.purposes.get(purpose)
    return {
        "purpose": found.description if found else purpose,
        "purposeId": purpose,
        "purposeCategory": [found.label if found else purpose],
        "consentType": "EXPLICIT",
        "piiCategory": ["contact details"],
        "primaryPurpose": False,
        "termination": "until withdrawn on the preference page or by one-click unsubscribe",
        "thirdPartyDisclosure": bool(found and found.gpc_opt_out),
        "status": change["new"],
        "previousStatus": change["old"],
    }


def _receipt(
    entry: Mapping[str, Any],
    by_channel: dict[str, list[dict[str, Any]]],
    playbook: Playbook,
    site_url: str,
    given: Mapping[str, dict[str, Any]],
) -> dict[str, Any]:
    org = playbook.organisation
    # The language of the page the person decided on, as the entry's evidence recorded
    # it (entries from before it was recorded: the playbook's default); the policy they
    # were shown is that language's, on the site's pages in it.
    language = str((entry.get("evidence") or {}).get("language") or org.language)
    shared = playbook.policy.url
    playbook = playbook.in_language(language)  # the services' names as the person read them
    policy = playbook.policy.url
    # The site's own policy page, in that language's part of the site, unless the
    # language names a page of its own.
    if policy == shared and policy.startswith("/"):
        policy = org.root(language) + policy.lstrip("/")
    policy_url = _absolute(policy, site_url)
    return {
        "version": VERSION,
        "jurisdiction": org.jurisdiction,
        "consentTimestamp": int(parse_iso(str(entry["at"])).timestamp()),
        "collectionMethod": _METHODS.get(str(entry["source"]), str(entry["source"])),
        "consentReceiptID": f"{entry['person_id']}-{entry['seq']}",
        "language": language,
        "piiPrincipalId": entry["person_id"],
        "piiControllers": [
            {
                "piiController": org.name,
                "contact": org.contact,
                "address": org.address,
                "email": org.contact,
                "piiControllerUrl": site_url + "/",
            }
        ],
        "policyUrl": policy_url,
        "policyVersion": entry["policy_version"],
        "services": [
            {
                "service": playbook.channels[c].label if c in playbook.channels else c,
                "channel": c,
                "purposes": purposes,
                "contactPoint": given.get(c),
            }
            for c, purposes in by_channel.items()
        ],
        "sensitive": False,
        "spiCat": [],
        "gpc": entry["gpc"],
        "ledgerSeq": entry["seq"],
        "ledgerHash": entry["hash"],
    }


def _absolute(url: str, site_url: str) -> str:
    return url if "://" in url else site_url.rstrip("/") + "/" + url.lstrip("/")
