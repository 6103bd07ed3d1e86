"""Every key of the one table, built here and nowhere else.

`SHAPES` lists each kind of item by the shape of its partition and sort key, in the
words of docs/design.md's data table (a test holds the two together). The builders return
plain strings; `key` makes the `{"pk", "sk"}` map DynamoDB wants.
"""

from __future__ import annotations

from typing import Any

# item -> (partition key, sort key), as docs/design.md's data table spells them.
SHAPES = {
    "profile": ("P#<id>", "PROFILE"),
    "ledger entry": ("P#<id>", "LEDGER#<seq, 12 digits>"),
    "idempotent answer about a person": ("P#<id>", "IDEM#<sha256>"),
    "phone code": ("P#<id>", "PHONECODE"),
    "send": ("P#<id>", "SEND#<send id>"),
    "send to deliver": ("DELIVER#<0-7>", "<claimed at>#<send id>"),
    "open task": ("TASK#<0-7>", "<claimed at>#<send id>"),
    "email lookup": ("EMAIL#<sha256 of the case-folded address>", "EMAIL"),
    "suppression": ("SUPPRESS#<HMAC of the address>", "SUPPRESS"),
    "number suppression": ("SUPPRESS#<HMAC of the number>", "NUMBER"),
    "mail rate": ("MAILRATE#<HMAC of the mailbox>", "MAILRATE"),
    "text rate": ("TEXTRATE#<HMAC of the number>", "TEXTRATE"),
    "client rate": (
        "CLIENTRATE#<HMAC of the client address or IPv6 /64>",
        "<hour, epoch seconds>",
    ),
    "mail job done": ("JOB#<job id>", "JOB"),
    "idempotent sign-up answer": ("IDEM#<sha256>", "IDEM"),
    "stage move": ("P#<id>", "STAGE#<when>#<tag>"),
    "processed event": ("EV#<event id>", "EV"),
    "API key": ("KEYS", "<sha256 of the key>"),
    "feedback source": ("FEEDBACK", "<source id>"),
    "report gauges": ("COUNTS#<0-7>", "<family>#NOW"),
    "report flows of a day": ("COUNTS#<0-7>", "<family>#DAY#<date>"),
    "report flows of a closed day, folded": ("COUNTS#DAYS", "<family>#DAY#<date>"),
    "counting rules": ("COUNTS#META", "RULES"),
    "counter shards": ("COUNTS#META", "SHARDS"),
    "held change events": ("OUTBOX#<0-7>", "<when>#<id>"),
    "import run": ("IMPORT#<run id>", "RUN"),
    "import piece done": ("IMPORT#<run id>", "PIECE#<nonce>#<piece, 9 digits>"),
    "audience export": ("EXPORT#<job id>", "EXPORT"),
    "fanned-out piece": ("RUN#<run id>", "PIECE#<part>"),
    "fanned-out run's start": ("RUN#<run id>", "START"),
    "fanned-out run's result": ("RUN#<run id>", "RESULT"),
    "a job's latest run": ("JOB#<kind>", "LATEST"),
    "webhook subscription": ("WEBHOOKS", "SUB#<subscription id>"),
    "parked webhook delivery": ("WEBHOOKS", "PARKED#<parked at>#<webhook id>"),
    "tracked sign-up link": ("LINKS", "<link code>"),
    "invite code": ("INVITE#<code>", "INVITE"),
    "join counted": ("REFERRAL#<HMAC of the address>", "REFERRAL"),
    "audit entry": ("AUDIT#<month>#<0-15>", "<when>#<entry id>"),
    "audit entry by who": ("AUDITWHO#<sha256 of the name>#<month>", "<when>#<entry id>"),
    "audit entry about a person": ("P#<id>", "AUDIT#<when>#<entry id>"),
}

PROFILE = "PROFILE"
LEDGER = "LEDGER#"
STAGE = "STAGE#"
AUDIT = "AUDIT#"  # a copy of an audit entry in the partition of the person it names
API_KEYS = "KEYS"
FEEDBACK_SOURCES = "FEEDBACK"
COUNTS_META = ("COUNTS#META", "RULES")
COUNTER_SHARDS = ("COUNTS#META", "SHARDS")
COUNTER_FOLDS = "COUNTS#DAYS"


def key(pk: str, sk: str) -> dict[str, Any]:
    """A key as DynamoDB takes it."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def person(person_id: str) -> str:
    return f"P#{person_id}"


def person_id(pk: str) -> str:
    return pk.removeprefix("P#")


def is_person(pk: str) -> bool:
    return pk.startswith("P#")


def profile(person_id: str) -> dict[str, Any]:
    return key(person(person_id), PROFILE)


def ledger_entry(seq: int) -> str:
    return f"{LEDGER}{seq:012d}"


def send(send_id: str) -> str:
    """A send claimed through the gate, in its person's partition (erased with them)."""
    return f"SEND#{send_id}"


def stage_move(at: str | None, tag: str) -> str:
    return f"{STAGE}{at}#{tag}"


def email(email_key: str) -> dict[str, Any]:
    return key(f"EMAIL#{email_key}", "EMAIL")


def suppression(suppress_key: str) -> dict[str, Any]:
    return key(f"SUPPRESS#{suppress_key}", "SUPPRESS")


def number_suppression(suppress_key: str) -> dict[str, Any]:
    return key(f"SUPPRESS#{suppress_key}", "NUMBER")


def mail_rate(rate_key: str) -> dict[str, Any]:
    return key(f"MAILRATE#{rate_key}", "MAILRATE")


def text_rate(rate_key: str) -> dict[str, Any]:
    return key(f"TEXTRATE#{rate_key}", "TEXTRATE")


def phone_code(person_id: str) -> dict[str, Any]:
    return key(person(person_id), "PHONECODE")


def client_rate(client_key: str, hour: int) -> dict[str, Any]:
    return key(f"CLIENTRATE#{client_key}", str(hour))


def mail_job(job_id: str) -> dict[str, Any]:
    return key(f"JOB#{job_id}", "JOB")


def event(event_id: str) -> dict[str, Any]:
    return key(f"EV#{event_id}", "EV")


def event_id(pk: str) -> str:
    return pk.removeprefix("EV#")


def idempotent_answer(digest: str, person_id: str | None) -> tuple[str, str]:
    """Where an answer kept for an Idempotency-Key lives: in the person's partition when
    it is about someone (so erasure removes it), else on its own."""
    if person_id is not None:
        return person(person_id), f"IDEM#{digest}"
    return f"IDEM#{digest}", "IDEM"


def counters(shard: int) -> str:
    return f"COUNTS#{shard}"


def outbox(shard: int) -> str:
    return f"OUTBOX#{shard}"


def deliveries(shard: int) -> str:
    return f"DELIVER#{shard}"


def tasks(shard: int) -> str:
    return f"TASK#{shard}"


def queued(claimed_at: str, send_id: str) -> str:
    return f"{claimed_at}#{send_id}"


def import_run(run_id: str) -> dict[str, Any]:
    return key(f"IMPORT#{run_id}", "RUN")


def import_pieces(nonce: str) -> str:
    """The sort-key prefix of one run's pieces: a fresh run of the same file (new nonce)
    never reads pieces an earlier, finished run left behind."""
    return f"PIECE#{nonce}#"


def import_piece(run_id: str, nonce: str, piece: int) -> dict[str, Any]:
    return key(f"IMPORT#{run_id}", f"{import_pieces(nonce)}{piece:09d}")


def run_piece(run_id: str, part: str) -> dict[str, Any]:
    return key(f"RUN#{run_id}", f"PIECE#{part}")


def run_pieces(run_id: str) -> str:
    return f"RUN#{run_id}"


def run_start(run_id: str) -> dict[str, Any]:
    return key(f"RUN#{run_id}", "START")


def run_result(run_id: str) -> dict[str, Any]:
    return key(f"RUN#{run_id}", "RESULT")


def latest_run(kind: str) -> dict[str, Any]:
    return key(f"JOB#{kind}", "LATEST")


def audience_export(job_id: str) -> dict[str, Any]:
    return key(f"EXPORT#{job_id}", "EXPORT")


WEBHOOKS = "WEBHOOKS"
WEBHOOK_SUB = "SUB#"
WEBHOOK_PARKED = "PARKED#"


def webhook_subscription(subscription_id: str) -> dict[str, Any]:
    return key(WEBHOOKS, f"{WEBHOOK_SUB}{subscription_id}")


def parked_webhook(parked_at: str, message_id: str) -> dict[str, Any]:
    return key(WEBHOOKS, f"{WEBHOOK_PARKED}{parked_at}#{message_id}")


TRACKED_LINKS = "LINKS"


def tracked_link(code: str) -> dict[str, Any]:
    return key(TRACKED_LINKS, code)


def invite(code: str) -> dict[str, Any]:
    return key(f"INVITE#{code}", "INVITE")


def join_counted(address_key: str) -> dict[str, Any]:
    return key(f"REFERRAL#{address_key}", "REFERRAL")


def audit_by_time(month: str, shard: int) -> str:
    """A month's audit entries, spread over shards (`store/audit.py`)."""
    return f"AUDIT#{month}#{shard}"


def audit_by_who(name_digest: str, month: str) -> str:
    return f"AUDITWHO#{name_digest}#{month}"


def audit_entry(at: str, entry_id: str) -> str:
    """An audit entry's sort key; a person's copy has it after `AUDIT`."""
    return f"{at}#{entry_id}"
