"""What the tests share, whatever folder they are in (tests/README.md says which is where).

moto starts once per session before any client is made; every test gets its own table, and
clients are reused because a new boto3 client costs far more. Beside the fixtures: a person
signed up and confirmed through the API (`sign_up`, `Visitor`, with a number verified by
its texted code: `phone_number`, `Visitor.verify_phone`) and the mails they got
(`mails`, `token_in`), the commands run in this process (`invoke`) or in a fresh
interpreter (`run_befriend`, `run_lambda`, `run_captured`; a Lambda entry invoked with an
event: `invoke_entry`), and `befriend serve` started and stopped (`start_serve`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent
REGION = "eu-west-1"
SENDER = "hello@befriend.example"
SECRET = "test-secret-that-is-long-enough-0123456789"

# Set before boto3 makes any client, so nothing can reach a real AWS account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from bench.serve import stop as stop_process  # noqa: E402
from moto import mock_aws  # noqa: E402
from moto.core.config import DefaultConfig  # noqa: E402

from befriend.build.sitegen import build_site  # noqa: E402
from befriend.cli import main  # noqa: E402
from befriend.clock import SettableClock  # noqa: E402
from befriend.config import Settings  # noqa: E402
from befriend.core.counts import family  # noqa: E402
from befriend.core.playbook import Playbook, load_playbook  # noqa: E402
from befriend.local.moto_patches import forget_models  # noqa: E402
from befriend.local.server import free_port  # noqa: E402
from befriend.mailing.ses import Mailer, mail_templates  # noqa: E402
from befriend.store import Store  # noqa: E402
from befriend.web.app import create_app  # noqa: E402

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TEMPLATES = ROOT / "templates"
BEFRIEND = [sys.executable, "-c", "from befriend.cli import main; main()"]
STATE_DIR = Path(tempfile.mkdtemp(prefix="befriend-state-"))


def cli_env() -> dict[str, str]:
    """The environment of a `befriend` subprocess: this checkout's code and none of the test
    process's AWS settings (a subprocess reaches moto only through the endpoint it is given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PYTHONPATH=str(ROOT / "handlers"), PYTHONUNBUFFERED="1")
    # A `befriend serve` a test starts records itself here, not in the user's own folder.
    env.setdefault("BEFRIEND_STATE_DIR", str(STATE_DIR))
    return env


# A queue the app is given but never calls (nothing in such a run queues mail).
NAMED_QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/befriend-mail"
# A closed loopback port: whatever still reaches for AWS finds nothing, never an account.
NOWHERE = "http://127.0.0.1:9"


def run_captured(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run `command` to its end with only the environment given (this one's when None), and
    capture what it says; its exit status is the caller's to judge."""
    return subprocess.run(
        command,
        env=None if env is None else dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_lambda(
    code: str,
    *args: str,
    cwd: Path | None = None,
    endpoint: str = NOWHERE,
    timeout: float = 60,
    **variables: str | None,
) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter as Lambda would import befriend: this checkout's
    handlers, settings from `variables` (BEFRIEND_*; None leaves one unset), AWS only at
    `endpoint`, and no profile or credentials file of this machine."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "handlers"),
        "BEFRIEND_SECRET": "s3cr3t-" + "x" * 33,
        "BEFRIEND_MAIL_QUEUE": NAMED_QUEUE,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **variables,
    }
    given = {name: value for name, value in env.items() if value is not None}
    return run_captured([sys.executable, "-c", code, *args], given, cwd=cwd, timeout=timeout)


# Lambda's runtime gives the root logger a handler before it imports the function.
LAMBDA_ENTRY = """
import json, logging, sys
logging.basicConfig()
import befriend.lambda_app as entry
with open(sys.argv[1], encoding="utf-8") as source:
    event = json.load(source)
print(json.dumps(getattr(entry, sys.argv[2])(event, None)))
"""


def invoke_entry(
    entry: str,
    event: Mapping[str, Any],
    folder: Path,
    endpoint: str = NOWHERE,
    timeout: float = 60,
    **variables: str | None,
) -> tuple[Any, subprocess.CompletedProcess[str]]:
    """Invoke `befriend.lambda_app.<entry>` with `event` as Lambda does, in a fresh
    interpreter (`run_lambda`, the event in a file in `folder`): what it answered, and the
    finished run (its log is on stderr)."""
    event_file = folder / "event.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")
    done = run_lambda(
        LAMBDA_ENTRY,
        str(event_file),
        entry,
        cwd=folder,
        endpoint=endpoint,
        timeout=timeout,
        **variables,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done


def run_befriend(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the `befriend` command as a person would (in `env`, else `cli_env()`), and
    capture what it says."""
    return run_captured([*BEFRIEND, *args], cli_env() if env is None else env, timeout=timeout)


def invoke(store: Store, *args: str, **env: str) -> Result:
    """`befriend <args> --table <the test's table>` in this process: the command makes its
    own boto3 client, which the in-process moto serves, so no --endpoint-url."""
    return CliRunner().invoke(main, [*args, "--table", store.table], env=env or None)


@dataclass
class Serve:
    """A running `befriend serve`: its base URL, moto endpoint and admin API key, and the
    file its output goes to."""

    process: subprocess.Popen[bytes]
    base: str
    endpoint: str
    admin: str
    log: Path

    def said(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        """Ended as Ctrl-C ends it (serve then removes its temporary site itself); what it
        said."""
        stop_process(self.process, 10)
        return self.said()


def start_serve(log: Path, *options: str, env: Mapping[str, str] | None = None) -> Serve:
    """`befriend serve` on a free loopback port as `make run` starts it, once it answers
    /api/health. Its output goes to `log`: a pipe nobody reads after start-up would fill and
    stall the server."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*BEFRIEND, "serve", "--port", str(port), *options],
            env=dict(cli_env() if env is None else env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    serve = Serve(process, f"http://127.0.0.1:{port}", "", "", log)
    deadline = time.monotonic() + 60
    while not serve.admin:
        endpoint = re.search(r"moto endpoint:\s+(\S+)", serve.said())
        admin = re.search(r"admin API key:\s+(\S+)", serve.said())
        if endpoint and admin:
            serve.endpoint, serve.admin = endpoint[1], admin[1]
        elif process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"befriend serve did not start:\n{serve.stop()}")
        else:
            time.sleep(0.05)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{serve.base}/api/health", timeout=5).close()
            return serve
        except (urllib.error.URLError, ConnectionError) as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"befriend serve did not answer:\n{serve.stop()}") from exc
            time.sleep(0.2)


# Requests to a moto server of our own on loopback (see `moto_server`) go through for real.
PASSTHROUGH: DefaultConfig = {
    "core": {"passthrough": {"urls": [r"http://127\.0\.0\.1:\d+/?.*"], "services": []}}
}


@pytest.fixture(scope="session")
def aws() -> Iterator[None]:
    """moto in process, its transactions backed up as `befriend serve` backs them up (only
    the items each names: `moto_patches.narrow_transaction_backup`, which restores the same
    state as stock moto, tests/local/test_moto_patches.py). Stock moto deep-copies the whole
    table for every item of every transaction, so a test's writes cost more with each one
    before: seeding demo people and the fuzz and state-machine runs spent most of their
    time there."""
    from befriend.local.moto_patches import narrow_transaction_backup

    with mock_aws(config=PASSTHROUGH):
        undo = narrow_transaction_backup()
        yield
        undo()


@pytest.fixture(scope="session")
def moto_server(aws: None) -> Iterator[str]:
    """moto's server as `befriend serve` runs it: one AWS request at a time, like DynamoDB's
    per-request atomicity. For tests with concurrent writers."""
    from befriend.local.server import LocalAws

    server = LocalAws()
    yield server.endpoint
    server.stop()


@pytest.fixture(scope="session")
def dynamodb(aws: None) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture(scope="session")
def ses(aws: None) -> Any:
    client = boto3.client("ses", region_name=REGION)
    client.verify_email_identity(EmailAddress=SENDER)
    return client


@pytest.fixture(scope="session")
def playbook() -> Playbook:
    return load_playbook((ROOT / "handlers/befriend/playbook.toml").read_text())


@pytest.fixture
def store(dynamodb: Any, playbook: Playbook, request: pytest.FixtureRequest) -> Iterator[Store]:
    store = Store(f"befriend-{uuid.uuid4().hex[:12]}", client=dynamodb)
    store.create_table()
    yield store
    forget_models()
    # Whatever a test did through the app, the report counters must still agree with a
    # recount of the people (`befriend reports check`), unless it tampers with them on purpose.
    if request.node.get_closest_marker("counters_tampered") is None:
        from befriend.reports import recount

        result = recount.check(store, playbook, datetime.now(UTC), lambda _: None)
        assert result.ok, f"report counters drifted: {result.gauges} {result.series}"


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


@pytest.fixture
def settings(store: Store) -> Settings:
    return Settings(
        table=store.table,
        secret=SECRET,
        site_url="https://prefs.example",
        region=REGION,
        templates=TEMPLATES,
        local=True,
    )


@pytest.fixture
def app(
    settings: Settings, store: Store, clock: SettableClock, ses: Any, playbook: Playbook
) -> Any:
    mailer = Mailer(SENDER, playbook.organisation.name, mail_templates(TEMPLATES), client=ses)
    flask_app = create_app(settings, store, clock, mailer, playbook)
    flask_app.testing = True
    return flask_app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


def sqs_event(*bodies: str) -> dict[str, Any]:
    """SQS's event for Lambda (AWS's documented sample, tests/events/), one record a body."""
    sample = json.loads((ROOT / "tests/events/sqs-mail-jobs.json").read_text())
    records = []
    for n, body in enumerate(bodies):
        record = dict(sample["Records"][0], messageId=f"message-{n}", body=body)
        records.append(record)
    return {"Records": records}


def deliver(app: Any) -> int:
    """Carry out the mail jobs an app queued, as its mail worker would; how many."""
    from befriend.mailing.worker import drain

    services = app.extensions["befriend"]
    return drain(services.mail_work, services.queue)


# The EventBridge bus befriend announces changes on; moto routes them to an SQS queue.
@pytest.fixture
def bus(aws: None) -> tuple[str, Any, str]:
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    name = f"befriend-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=name)
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps({"source": ["befriend"]}))
    events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    return name, sqs, queue


def received(sqs: Any, queue: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return out
        out += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, playbook: Playbook) -> Path:
    """The default site, built once per session into a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    build_site(playbook, TEMPLATES, out)
    return out


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# --- people through the API: sign up, confirm, read the mails ---

Mails = Callable[[], list[dict[str, Any]]]
Texts = Callable[[], list[dict[str, Any]]]


def _outbox_since(client: Any, kind: str) -> Callable[[], list[dict[str, Any]]]:
    """A reader of the local outbox's `kind` (mails or texts) sent since now, oldest first
    (moto keeps one list per session)."""
    before = {m["id"] for m in client.get("/dev/outbox.json").get_json()[kind]}

    def read() -> list[dict[str, Any]]:
        found = client.get("/dev/outbox.json").get_json()[kind]
        return [m for m in reversed(found) if m["id"] not in before]

    return read


@pytest.fixture
def mails(client: Any) -> Mails:
    """Mails sent since this test began, oldest first."""
    return _outbox_since(client, "mails")


@pytest.fixture
def texts(client: Any) -> Texts:
    """Texts sent since this test began, oldest first, each with the code it carries."""
    return _outbox_since(client, "texts")


def token_in(mail: dict[str, Any], page: str) -> str:
    """The token of the `/<page>/#t=` link in a mail."""
    for link in mail["links"]:
        hit = re.search(rf"/{page}/#t=([^\s]+)$", link)
        if hit:
            return hit.group(1)
    raise AssertionError(f"no {page} link in {mail['subject']!r}")


def unsubscribe_path(mail: dict[str, Any]) -> str:
    header = mail["headers"]["List-Unsubscribe"]
    return re.sub(r"^<https://prefs\.example|>$", "", header)


@dataclass
class Visitor:
    """A confirmed person, seen through the API with their manage token."""

    client: Any
    email: str
    token: str
    id: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)

    def get(self, path: str = "/api/me") -> Any:
        return self.client.get(path, headers=self.auth)

    def patch_permissions(self, *changes: tuple[str, str, bool], **headers: str) -> Any:
        body = {"changes": [{"channel": c, "purpose": p, "granted": g} for c, p, g in changes]}
        return self.client.patch("/api/me/permissions", json=body, headers={**self.auth, **headers})

    def verify_phone(self) -> Any:
        """Enter the code last texted to the person's number, read from the local outbox,
        as they would type it: what they asked for on phone channels is granted then."""
        number = self.get().get_json()["contacts"]["phone"]["number"]
        texts = self.client.get("/dev/outbox.json").get_json()["texts"]  # newest first
        code = next(t["code"] for t in texts if t["to"] == number)
        answer = self.client.post(
            "/api/me/contacts/phone/verify", json={"code": code}, headers=self.auth
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return answer


def phone_number(n: int = 0) -> str:
    """A UK mobile number of its own for the nth person: one number gets only a few codes
    an hour, whoever asks (core/phones.py CODES_PER_HOUR)."""
    return f"+44 7400 {100000 + n:06d}"


SignUp = Callable[..., Visitor]
Permissions = tuple[tuple[str, str], ...]
NEWSLETTER_ONLY: Permissions = (("email", "newsletter"),)


def signup_body(
    email: str, playbook: Playbook, permissions: Permissions = NEWSLETTER_ONLY, **extra: Any
) -> dict[str, Any]:
    """A sign-up the API accepts: the address, the policy in force, the permissions asked
    for, and any other fields."""
    return {
        "email": email,
        "policy_version": playbook.policy.version,
        "permissions": [{"channel": c, "purpose": p} for c, p in permissions],
        **extra,
    }


@pytest.fixture
def sign_up(client: Any, mails: Mails, playbook: Playbook) -> SignUp:
    counter = iter(range(1_000_000))

    def run(
        email: str | None = None, permissions: Permissions = NEWSLETTER_ONLY, **extra: Any
    ) -> Visitor:
        address = email or f"visitor{next(counter)}@example.org"
        seen = len(mails())
        answer = client.post(
            "/api/signup", json=signup_body(address, playbook, permissions, **extra)
        )
        assert answer.status_code == 202, answer.get_data(as_text=True)
        mail = mails()[seen]
        confirmed = client.post("/api/confirm", json={"token": token_in(mail, "confirm")})
        assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
        body = confirmed.get_json()
        return Visitor(client, address, body["manage_token"], body["person"]["id"])

    return run


@pytest.fixture(autouse=True)
def whole_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recount waits after its reads for a transaction DynamoDB may show half of
    (reports/recount.py `GRACE`); moto shows each whole (one call at a time, `threaded`),
    so the tests do not wait, except those that show a transaction seen half."""
    from befriend.reports import recount

    monkeypatch.setattr(recount, "GRACE", 0.0)


@pytest.fixture
def threaded() -> Iterator[None]:
    """moto as threads meet it under `befriend serve`: each call answered alone. Stock moto
    in process answers calls side by side, so a reader in another thread sees half of a
    transaction: a fault of moto's, not of the code under test. (Each transaction backs up
    only its own items for the whole session, `aws`; stock moto's whole-table backup would
    also fail when another thread adds an item meanwhile.)"""
    from befriend.local.moto_patches import one_request_at_a_time

    undo_lock = one_request_at_a_time()
    yield
    undo_lock()


def tamper(store: Store, counter: str, by: int) -> None:
    """A counter moved behind the app's back (what check must find and rebuild undo)."""
    store.client.update_item(
        TableName=store.table,
        Key={"pk": {"S": "COUNTS#3"}, "sk": {"S": f"{family(counter)}#NOW"}},
        UpdateExpression="ADD #c :n",
        ExpressionAttributeNames={"#c": counter},
        ExpressionAttributeValues={":n": {"N": str(by)}},
    )
