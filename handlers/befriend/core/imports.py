"""Existing contacts brought in from a file, decided as data.

A row is read into a checked `ImportRow` or refused with a `Rejected` reason the operator
can act on. A row that carries consent evidence (when, where, and the policy version or
the wording agreed to) keeps the permissions it lists; a row without evidence is imported
with no permission at all, so the person can be asked once, and nothing is ever sent on an
assumption. A permission for post is never granted by an import: a file carries no postal
address, and post needs one (`core/postal.py`); nor is a text or a call: a file carries no
verified number, and phone channels need one (`core/phones.py`). The report names each
such row (`dropped_note`), and the person can give the address or the number (and its code)
and grant them on their page.
Either way the person's ledger starts with one `import` entry, source `import`,
that holds the file's name and the evidence as given, so every permission is traceable to
where it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import UTC, date, datetime, time

from msgspec import Struct

from befriend.core.changes import Outcome, email_given_for, settle
from befriend.core.commands import MAX_NAME, normalise_email
from befriend.core.errors import InvalidInput
from befriend.core.ledger import Change, chain
from befriend.core.person import Pair, Permission, Person, iso
from befriend.core.playbook import Playbook

# The columns of an import file, in the order the help lists them. Only `email` is required.
COLUMNS = (
    "email",
    "name",
    "interests",
    "permissions",
    "consent_at",
    "consent_source",
    "consent_policy_version",
    "consent_wording",
)
EVIDENCE = ("consent_at", "consent_source", "consent_policy_version", "consent_wording")
MAX_TEXT = 2000  # evidence wording and sources are short texts, not documents
SOURCE = "import"


class ConsentEvidence(Struct, frozen=True):
    """How the permissions of a row were given, as the file says."""

    at: datetime
    source: str
    policy_version: str
    wording: str

    def as_json(self) -> dict[str, str | None]:
        return {
            "at": iso(self.at),
            "source": self.source,
            "policy_version": self.policy_version or None,
            "wording": self.wording or None,
        }


class ImportRow(Struct, frozen=True):
    line: int
    email: str
    name: str
    interests: tuple[str, ...]
    permissions: tuple[Pair, ...]
    evidence: ConsentEvidence | None
    # Listed permissions on postal channels: never granted, there being no address.
    unaddressed: tuple[Pair, ...] = ()
    # Listed permissions on phone channels: never granted, there being no verified number.
    unverified: tuple[Pair, ...] = ()

    @property
    def granted(self) -> tuple[Pair, ...]:
        """The permissions the person will have: none without evidence."""
        return self.permissions if self.evidence is not None else ()

    def dropped_note(self) -> str | None:
        """Why the row's postal and phone permissions were not granted, for the import
        report; None when there were none it would have granted."""
        if self.evidence is None:
            return None
        why = []
        if self.unaddressed:
            pairs = ", ".join(f"{c}:{p}" for c, p in self.unaddressed)
            why.append(
                f"{pairs} not granted: post needs a postal address and an import takes none; "
                "the person can give it and grant post on their page"
            )
        if self.unverified:
            pairs = ", ".join(f"{c}:{p}" for c, p in self.unverified)
            why.append(
                f"{pairs} not granted: texts and calls need a verified number and an import "
                "has none; the person can give their number, enter its code and grant them "
                "on their page"
            )
        return "; ".join(why) or None


class Rejected(Exception):
    """A row that is not imported, and why, in words for the operator."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line, self.reason = line, reason


def missing_columns(header: Collection[str]) -> list[str]:
    return [c for c in ("email",) if c not in header]


def ignored_columns(header: Collection[str]) -> list[str]:
    return [c for c in header if c not in COLUMNS]


def row_email(line: int, raw: Mapping[str, str | None]) -> str:
    """The row's address as befriend stores it (sign-up's own check), or Rejected."""
    try:
        return normalise_email((raw.get("email") or "").strip())
    except InvalidInput as exc:
        raise Rejected(line, f"bad email: {exc.errors[0].message}") from exc


def read_row(
    line: int, raw: Mapping[str, str | None], playbook: Playbook, now: datetime
) -> ImportRow:
    """One row of the file, checked; raises Rejected naming what is wrong."""

    def text(column: str) -> str:
        return (raw.get(column) or "").strip()

    email = row_email(line, raw)
    name = " ".join(text("name").split())
    if len(name) > MAX_NAME:
        raise Rejected(line, f"name longer than {MAX_NAME} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise Rejected(line, "name has control characters")
    interests = _interests(line, text("interests"), playbook)
    listed = _permissions(line, text("permissions"), playbook)
    postal = tuple(p for p in listed if playbook.channels[p[0]].kind == "postal")
    phone = tuple(p for p in listed if playbook.channels[p[0]].kind == "phone")
    permissions = tuple(p for p in listed if p not in postal and p not in phone)
    evidence = _evidence(line, raw, now)
    return ImportRow(line, email, name, interests, permissions, evidence, postal, phone)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _interests(line: int, value: str, playbook: Playbook) -> tuple[str, ...]:
    wanted = _split(value)
    unknown = [t for t in wanted if t not in playbook.topics]
    if unknown:
        allowed = ", ".join(playbook.topics)
        raise Rejected(line, f"unknown interest {unknown[0]!r}; topics: {allowed}")
    return tuple(t for t in playbook.topics if t in wanted)


def _permissions(line: int, value: str, playbook: Playbook) -> tuple[Pair, ...]:
    pairs = []
    for part in _split(value):
        channel, colon, purpose = (s.strip() for s in part.partition(":"))
        if not colon:
            raise Rejected(line, f"permission {part!r} is not channel:purpose")
        if channel not in playbook.channels:
            allowed = ", ".join(playbook.channels)
            raise Rejected(line, f"unknown channel {channel!r}; channels: {allowed}")
        if purpose not in playbook.purposes:
            allowed = ", ".join(playbook.purposes)
            raise Rejected(line, f"unknown purpose {purpose!r}; purposes: {allowed}")
        if not playbook.offers(channel, purpose):
            offered = ", ".join(playbook.purposes[purpose].channels)
            raise Rejected(line, f"{purpose!r} is not offered by {channel!r}; by: {offered}")
        pairs.append((channel, purpose))
    return tuple(p for p in playbook.grid() if p in pairs)


def _evidence(line: int, raw: Mapping[str, str | None], now: datetime) -> ConsentEvidence | None:
    given = {c: (raw.get(c) or "").strip() for c in EVIDENCE}
    if not any(given.values()):
        return None
    for column, value in given.items():
        if len(value) > MAX_TEXT:
            raise Rejected(line, f"{column} longer than {MAX_TEXT} characters")
        if any(ord(ch) < 32 and ch not in "\t\n" for ch in value):
            raise Rejected(line, f"{column} has control characters")
    if not given["consent_at"] or not given["consent_source"]:
        raise Rejected(
            line,
            "incomplete consent evidence: consent_at and consent_source are both needed "
            "(or leave every consent_ column empty to import without permission)",
        )
    if not given["consent_policy_version"] and not given["consent_wording"]:
        raise Rejected(
            line,
            "incomplete consent evidence: give consent_policy_version or consent_wording",
        )
    return ConsentEvidence(
        at=_moment(line, given["consent_at"], now),
        source=given["consent_source"],
        policy_version=given["consent_policy_version"],
        wording=" ".join(given["consent_wording"].split()),
    )


def _moment(line: int, value: str, now: datetime) -> datetime:
    """An ISO 8601 date (midnight UTC) or date and time (UTC unless it says otherwise)."""
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time(), UTC)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Rejected(line, f"bad date in consent_at {value!r}: use ISO 8601") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment > now:
        raise Rejected(line, f"bad date in consent_at {value!r}: it is in the future")
    return moment.astimezone(UTC)


def imported(
    row: ImportRow,
    person_id: str,
    file_source: str,
    now: datetime,
    playbook: Playbook,
    contact_key: Callable[[str, str], str] | None = None,
) -> Outcome:
    """The person a row becomes, with their first ledger entry and their stage.

    `before` is a pending person (who counts nowhere), so the report counters count the
    imported person in full. Permissions are granted as of the evidence's moment: consent
    older than a purpose's refresh period is asked about again at once, as any other."""
    blank = Person(id=person_id, email=row.email, name=row.name, status="pending", created_at=now)
    evidence = row.evidence
    version = evidence.policy_version if evidence is not None else playbook.policy.version
    changes = [
        Change("email", None, row.email),
        Change("name", None, row.name),
        Change("time_zone", None, blank.preferences.time_zone),
        Change("imported_from", None, file_source),
    ]
    if evidence is not None:
        changes.append(Change("consent_evidence", None, evidence.as_json()))
    changes += [Change(f"permission:{c}:{p}", "never", "granted") for c, p in row.granted]
    # The address in the file is the one these permissions were given for.
    changes += email_given_for(row.email, changes, contact_key, playbook)
    if row.interests:
        changes.append(Change("interests", [], sorted(row.interests)))
    # No client address or user agent to hash: the evidence is the file's, kept above.
    entry = chain(person_id, 0, "", now, "import", SOURCE, changes, version, None)
    since = evidence.at if evidence is not None else now
    person = Person(
        id=person_id,
        email=row.email,
        name=row.name,
        status="active",
        created_at=now,
        permissions={p: Permission("granted", since, SOURCE, version) for p in row.granted},
        interests=frozenset(row.interests),
        seq=entry.seq,
        head=entry.hash,
    )
    return settle(Outcome(blank, person, (entry,)), playbook, now, "import")
