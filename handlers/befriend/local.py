"""`befriend serve`: the whole product on this machine, against moto's server.

moto runs in this process on a free loopback port, so other `befriend` commands can reach
the same data with `--endpoint-url` (or AWS_ENDPOINT_URL) while the app serves the API.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import sys
import threading
from typing import Any

import boto3
from werkzeug.serving import WSGIRequestHandler, make_server, run_simple

from befriend.clock import system_clock
from befriend.config import Settings
from befriend.demo import seed
from befriend.keys import Keys
from befriend.store import Store
from befriend.web.app import create_app, read_playbook

_TOKEN_IN_PATH = re.compile(r"(/api/unsubscribe/)[^\s?\"]+")


class RedactingHandler(WSGIRequestHandler):
    """The access log never shows an unsubscribe token (the one token that sits in a URL)."""

    def log(self, type: str, message: str, *args: Any) -> None:
        line = _TOKEN_IN_PATH.sub(r"\1…", message % args)
        sys.stderr.write(f"{self.address_string()} [{self.log_date_time_string()}] {line}\n")


class LocalAws:
    """moto's server on a free loopback port, answering one request at a time.

    moto's in-memory backends are not safe for concurrent requests (a transaction copies
    the table while another request writes it), whereas DynamoDB applies each request
    atomically. One request at a time gives the app DynamoDB's semantics: concurrent app
    threads still race between their read and their conditional write, as in AWS."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                create_backend_app,
            )
        except ImportError as exc:  # pragma: no cover - the local extra is missing
            raise SystemExit("`befriend serve` needs moto: pip install 'befriend[local]'") from exc
        # moto's server logs each AWS call through werkzeug's logger; the app logs on its own.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(host, port or free_port(host), app, threaded=False)
        self.endpoint = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_moto() -> LocalAws:
    """Start moto's server on a free loopback port and point boto3 at it."""
    aws = LocalAws()
    # moto accepts any credentials; fixed ones keep a real AWS profile out of the way.
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": aws.endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    return aws


def local_settings(port: int) -> Settings:
    env = dict(os.environ)
    env.setdefault("BEFRIEND_SECRET", secrets.token_urlsafe(32))
    env["BEFRIEND_SITE_URL"] = f"http://127.0.0.1:{port}"
    env["BEFRIEND_LOCAL"] = "1"
    env.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    return Settings.from_env(env)


def prepare(settings: Settings, demo: int) -> Store:
    """Create the table, verify the sender with SES, and seed `demo` demo people."""
    store = Store(settings.table, region=settings.region)
    store.create_table()
    playbook = read_playbook(settings)
    boto3.client("ses", region_name=settings.region).verify_email_identity(
        EmailAddress=playbook.organisation.sender
    )
    if demo:
        seed(store, playbook, settings.secret, system_clock(), people=demo)
    return store


def serve(host: str, port: int, demo: int) -> None:
    aws = start_moto()
    settings = local_settings(port)
    print(f"seeding {demo} demo people…" if demo else "starting with an empty table…")
    store = prepare(settings, demo)
    # A key for trying the marketer API at once; it lives only as long as this process.
    admin, _ = Keys(store).create("local admin", "admin", system_clock())
    app = create_app(settings, store)
    base = f"http://{host}:{port}"
    print(f"befriend is running at {base}/api/health")
    print(f"  local outbox:    {base}/dev/outbox")
    print(f"  OpenAPI:         {base}/api/openapi.json")
    print(f"  moto endpoint:   {aws.endpoint}")
    print(f"  check ledgers:   befriend ledger verify --endpoint-url {aws.endpoint}")
    print(f"  admin API key:   {admin}  (local only; send as Authorization: Bearer …)")
    try:
        run_simple(host, port, app, threaded=True, request_handler=RedactingHandler)
    finally:
        aws.stop()
