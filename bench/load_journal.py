"""The client-side journal: what each visitor did, and what the app must therefore hold.

Each visitor keeps its own model of its person, written without the app's code: the
permissions, interests and weekly caps it should have, every ledger entry each accepted
change must have added (action and changes, in order), and the event tallies the survey
and the ingest stream should have left. The checks after the run compare the app's
stored state with it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from befriend.core.playbook import HOW_OFTEN, Playbook

Pair = tuple[str, str]


@dataclass(frozen=True)
class Expected:
    """A ledger entry the app must have written: its action and its changes, in order."""

    action: str
    changes: tuple[tuple[str, Any, Any], ...]


@dataclass
class Visit:
    """One visitor's person, from sign-up on."""

    email: str
    name: str
    time_zone: str
    requested: tuple[Pair, ...]
    asked_interests: frozenset[str]
    signed_up: bool = False  # the app accepted the sign-up (202)
    person_id: str = ""
    token: str = ""
    unsubscribe_url: str = ""
    uncertain: bool = False  # a write failed mid-way: the model may be wrong from there on
    permissions: dict[Pair, str] = field(default_factory=dict)
    interests: frozenset[str] = frozenset()
    caps: dict[str, int] = field(default_factory=dict)
    entries: list[Expected] = field(default_factory=list)
    tallies: Counter[str] = field(default_factory=Counter)  # from the survey
    counted: Counter[str] = field(default_factory=Counter)  # changes made, by kind

    @property
    def confirmed(self) -> bool:
        return bool(self.person_id)

    def state(self, pair: Pair) -> str:
        return self.permissions.get(pair, "never")

    # --- what each accepted change must do; each returns True when it adds an entry ---

    def confirm(self, pb: Playbook) -> None:
        grid = pb.grid()
        requested = [p for p in grid if p in self.requested]
        self.entries.append(
            Expected(
                "signup",
                (
                    ("email", None, self.email),
                    ("name", None, self.name),
                    ("time_zone", None, self.time_zone),
                    ("requested", None, [f"{c}:{p}" for c, p in requested]),
                ),
            )
        )
        changes: list[tuple[str, Any, Any]] = [(_perm(p), "never", "granted") for p in requested]
        interests = sorted(self.asked_interests)
        if interests:
            changes.append(("interests", [], interests))
        self.entries.append(Expected("confirm", tuple(changes)))
        self.permissions = dict.fromkeys(requested, "granted")
        self.interests = self.asked_interests
        self.counted["grant"] += len(requested)

    def change_permissions(self, wanted: dict[Pair, bool], pb: Playbook) -> bool:
        changes = []
        for pair in pb.grid():
            if pair not in wanted:
                continue
            old, new = self.state(pair), "granted" if wanted[pair] else "withdrawn"
            if old == new or (old == "never" and new == "withdrawn"):
                continue
            changes.append((_perm(pair), old, new))
            self.permissions[pair] = new
            self.counted["grant" if new == "granted" else "withdraw"] += 1
        if any(new == "withdrawn" for _, _, new in changes):
            self.counted["preferences"] += 1
        return self._add("permissions", changes)

    def set_interests(self, topics: frozenset[str]) -> bool:
        if topics == self.interests:
            return False
        change = ("interests", sorted(self.interests), sorted(topics))
        self.interests = topics
        return self._add("interests", [change])

    def update_settings(self, time_zone: str, caps: dict[str, int | None]) -> bool:
        changes: list[tuple[str, Any, Any]] = []
        if time_zone != self.time_zone:
            changes.append(("time_zone", self.time_zone, time_zone))
            self.time_zone = time_zone
        changes += self._caps(caps)
        return self._add("settings", changes)

    def answer_survey(self, answers: dict[str, Any], pb: Playbook) -> bool:
        """The survey always adds an entry: the answers are kept; only the first answer counts."""
        changes: list[tuple[str, Any, Any]] = []
        if "interests" in answers and frozenset(answers["interests"]) != self.interests:
            topics = frozenset(answers["interests"])
            changes.append(("interests", sorted(self.interests), sorted(topics)))
            self.interests = topics
        if "how_often" in answers and "preferred_channel" in answers:
            cap = HOW_OFTEN[answers["how_often"]][1]
            wanted = None if cap is None else min(cap, pb.max_per_week)
            changes += self._caps({answers["preferred_channel"]: wanted})
        kept = dict(answers)
        if "interests" in kept:
            kept["interests"] = [t for t in pb.topics if t in kept["interests"]]
        changes.append(("survey", None, kept))
        survey = pb.survey
        # An answer counts toward the scores once per `score_every_days` (90 by default),
        # far longer than a run: only a person's first answer is counted.
        if survey is not None and not self.tallies[survey.event]:
            self.tallies[survey.event] += 1
            if answers.get("recommend", -1) >= survey.promoter_from:
                self.tallies[survey.promoter_event] += 1
        return self._add("survey", changes)

    def unsubscribe(self, pb: Playbook, channel: str = "email") -> bool:
        """One-click from a mail: every permission granted on the channel is withdrawn."""
        changes = []
        for pair in pb.grid():
            if pair[0] == channel and self.state(pair) == "granted":
                changes.append((_perm(pair), "granted", "withdrawn"))
                self.permissions[pair] = "withdrawn"
                self.counted["withdraw"] += 1
        if changes:
            self.counted["one-click"] += 1
        return self._add("unsubscribe", changes)

    def _caps(self, caps: dict[str, int | None]) -> list[tuple[str, Any, Any]]:
        changes: list[tuple[str, Any, Any]] = []
        for channel in sorted(caps):
            old, new = self.caps.get(channel), caps[channel]
            if old == new:
                continue
            changes.append((f"max_per_week:{channel}", old, new))
            if new is None:
                self.caps.pop(channel, None)
            else:
                self.caps[channel] = new
        return changes

    def _add(self, action: str, changes: list[tuple[str, Any, Any]]) -> bool:
        if not changes:
            return False
        self.entries.append(Expected(action, tuple(changes)))
        return True


def _perm(pair: Pair) -> str:
    return f"permission:{pair[0]}:{pair[1]}"


@dataclass
class EventLog:
    """The ingest stream's side: every event id sent, and what became of it."""

    accepted: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> person, type
    rejected: set[str] = field(default_factory=set)  # ids only ever sent for nobody
    sent: int = 0  # events in requests, replays included
    replayed: int = 0  # events sent again with an id sent before
    batches: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, sent: int, replayed: int, batches: int) -> None:
        with self._lock:
            self.sent += sent
            self.replayed += replayed
            self.batches += batches

    def accept(self, event_id: str, person_id: str, kind: str) -> bool:
        """False when this id was accepted before: an event counted twice."""
        with self._lock:
            if event_id in self.accepted:
                return False
            self.accepted[event_id] = (person_id, kind)
            return True

    def reject(self, event_id: str) -> None:
        with self._lock:
            self.rejected.add(event_id)

    def tallies(self) -> dict[str, Counter[str]]:
        """Per person, the events of each type that were accepted (each id once)."""
        out: dict[str, Counter[str]] = {}
        for person_id, kind in self.accepted.values():
            out.setdefault(person_id, Counter())[kind] += 1
        return out


@dataclass
class Journal:
    """Every visit and the ingest stream, shared by all threads."""

    visits: list[Visit] = field(default_factory=list)
    events: EventLog = field(default_factory=EventLog)
    _people: list[tuple[str, str]] = field(default_factory=list)  # (id, email), confirmed
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, visit: Visit) -> None:
        with self._lock:
            self.visits.append(visit)

    def confirmed(self, visit: Visit) -> None:
        """The ingest stream may now send events about this person."""
        with self._lock:
            self._people.append((visit.person_id, visit.email))

    def people(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._people)
