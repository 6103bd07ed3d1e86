"""DynamoDB single-table access. Every read and write befriend makes goes through here.

Items (keys `pk`/`sk`):
  P#<id> / PROFILE              the person (JSON `doc`; `revision` is the optimistic lock)
  P#<id> / LEDGER#<seq>         one ledger entry, append-only, hash-chained
  P#<id> / IDEM#<key hash>      a replayable answer for an Idempotency-Key about this person
  P#<id> / STAGE#<when>#<tag>   a move between stages, kept for the reports
  EMAIL#<sha256> / EMAIL        unique address → person id
  SUPPRESS#<keyed hash> / SUPPRESS   left behind by erasure
  MAILRATE#<keyed hash> / MAILRATE   send times of the last hour (a sliding window)
  TEXTRATE#<keyed hash> / TEXTRATE   the same for codes texted to one number
  P#<id> / PHONECODE            the code waiting for the person's number (keyed hashes)
  P#<id> / SEND#<send id>       a send claimed through the gate, and its outcome
  DELIVER#<0..7> / <claimed at>#<send id>   a send befriend delivers, not yet settled
  TASK#<0..7> / <claimed at>#<send id>      an open task: a contact befriend cannot make
  IDEM#<key hash> / IDEM        a replayable answer for an Idempotency-Key with no person yet
  EV#<keyed hash> / EV          an ingested event id, so a replay is a duplicate
  KEYS / <sha256 of a key>      a marketer API key: name, role, created, revoked
  OUTBOX#<0..7> / <when>#<id>   change events the bus refused, until they are put again
  COUNTS#<0..7> / NOW           report gauges (people per stage, ...), one attribute each
  COUNTS#<0..7> / DAY#<date>    report flows of one day (moves, grants, sign-ups, ...)
  IMPORT#<run id> / RUN, PIECE#<nonce>#<n>   an unfinished import and its finished pieces
  EXPORT#<job id> / EXPORT      an audience export's state
  RUN#<run id> / PIECE#<part>   how far a piece of a fanned-out job (the sweep) got
  WEBHOOKS / SUB#<id>, PARKED#<when>#<webhook id>   webhook subscriptions, parked deliveries
  LINKS / <code>, INVITE#<code> / INVITE, REFERRAL#<keyed hash> / REFERRAL   tracked sign-up
                                links, invite codes, joins counted (`megaphone`)
  AUDIT#<month>#<0..15>, AUDITWHO#<name digest>#<month>, P#<id> / AUDIT#…   the audit
                                trail by time, by who, by person (`audit`)

Active profiles carry `stage_shard` (`<stage>#<0..7>`) for the `by-stage` index; profiles
with a verified number carry `verified_number` (its keyed hash) for the `by-number` index.

A pending sign-up and its lookup carry `expires_at` for DynamoDB TTL. TTL deletes lazily
(in AWS up to days late; moto never), so reads treat an item past `expires_at` as absent.

One `Store` serves it all, composed of a class per concern: `table` (the client and the
table's shape), `people` (reads and changes, writing the items `person_items` builds),
`erasure`, `contacts` (an address lookup moved), `counters` (the reports' counters,
moved in the same transactions as the changes), `limits` (mail slots, kept answers,
events seen), `outbox` (change events held until the bus takes them), `checkpoints` (how
far an import or an audience export got), `runs` (the checkpoints of fanned-out
pieces), `sends` (sends claimed through the gate), `deliveries` (the dispatcher's
queues of sends to deliver and open tasks) and `webhooks` (webhook subscriptions and the
deliveries parked after failing every try), and `audit` (the audit trail: who read whose
data, written beside the answer, never changed).
"""

from __future__ import annotations

from befriend.store.audit import Audit
from befriend.store.checkpoints import Checkpoints
from befriend.store.contacts import Contacts
from befriend.store.deliveries import Deliveries
from befriend.store.erasure import Erasure
from befriend.store.limits import Limits
from befriend.store.megaphone import Megaphones
from befriend.store.outbox import Outbox
from befriend.store.people import People
from befriend.store.phone_codes import PhoneCodes
from befriend.store.runs import Runs
from befriend.store.sends import Sends
from befriend.store.table import STAGE_INDEX, STAGE_SHARDS, stage_shard
from befriend.store.webhooks import Webhooks

__all__ = ["STAGE_INDEX", "STAGE_SHARDS", "Store", "stage_shard"]


class Store(
    People,
    Erasure,
    Limits,
    Outbox,
    Checkpoints,
    Runs,
    Contacts,
    PhoneCodes,
    Sends,
    Deliveries,
    Webhooks,
    Megaphones,
    Audit,
):
    """Role-named reads and writes on one table. The client is made on first use, so a moto
    mock started after the Store was built is still the one in force."""
