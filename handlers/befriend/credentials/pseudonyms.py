"""The hashes befriend keeps instead of raw values.

The email lookup key is a plain SHA-256, as the data model documents, so an operator can
find a person's lookup from their address. Evidence and suppression hashes are keyed with
the deployment's secret: an IPv4 address or a leaked address list could otherwise be
recovered by hashing every candidate.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from befriend.core.commands import email_key_material, mailbox_key_material
from befriend.core.person import Evidence


def email_key(email: str) -> str:
    return hashlib.sha256(f"email:{email_key_material(email)}".encode()).hexdigest()


class Pseudonyms:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(f"befriend.credentials.pseudonyms:{secret}".encode()).digest()

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def suppression(self, email: str) -> str:
        return self._mac("suppress", email_key_material(email))

    def joined(self, email: str) -> str:
        """The mark of a join counted through an invite (`store/megaphone.py`): per
        mailbox, so `+tags` and a provider's spellings of one inbox join once."""
        return self._mac("joined", mailbox_key_material(email))

    def contact(self, kind: str, value: str) -> str:
        """A contact point as the ledger and receipts keep it (an old or new email address,
        the postal address a permission was given for): comparable, never readable back.
        `value` is the point's canonical text (`core.contact_points`)."""
        return self._mac(f"contact:{kind}", value)[:32]

    def mail_rate(self, email: str) -> str:
        """One budget per mailbox: name+1@… and name+2@… share it."""
        return self._mac("mail-rate", mailbox_key_material(email))

    def number(self, number: str) -> str:
        """A phone number (E.164) as the ledger and receipts record it: comparable, never
        readable back, even by trying every number of a country."""
        return self._mac("number", number)[:32]

    def number_suppression(self, number: str) -> str:
        return self._mac("suppress-number", number)

    def text_rate(self, number: str) -> str:
        """One budget of codes per number, whoever asks for them."""
        return self._mac("text-rate", number)

    def phone_code(self, person_id: str, number: str, code: str) -> str:
        """A code texted to a number, kept only as this: bound to the person and the number,
        so it verifies nothing else."""
        return self._mac("phone-code", f"{person_id}:{number}:{code}")

    def client_rate(self, client_address: str | None) -> str:
        """One budget per client, keyed so the table holds no address. An IPv6 client
        counts by its /64, the block one subscriber line is given: otherwise a single
        client could take a fresh address for every request."""
        return self._mac("client-rate", client_network(client_address))

    def audit_source(self, client_address: str | None) -> str:
        """Where a marketer's request came from, as the audit trail keeps it: the same
        address gives the same hash, and the address cannot be read back."""
        return self._mac("audit-source", client_address or "")[:32]

    def fingerprint(self, data: bytes) -> str:
        """A keyed digest of a request body: comparable, but never reversible to its content."""
        return hmac.new(self._key, b"request:" + data, hashlib.sha256).hexdigest()

    def evidence(self, client_address: str | None, user_agent: str | None) -> Evidence:
        return Evidence(
            client=self._mac("client", client_address or "")[:32],
            agent=self._mac("agent", user_agent or "")[:32],
        )


def client_network(client_address: str | None) -> str:
    """The address a per-client limit counts by: IPv4 as it is, IPv6 by its /64."""
    try:
        address = ipaddress.ip_address(client_address or "")
    except ValueError:
        return client_address or ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
